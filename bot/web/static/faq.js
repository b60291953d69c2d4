// 「この回答を使う」: put a similar case's staff answer into the reply box without reloading.
// Without JavaScript the link reloads the case page with the box filled in (?use=...).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.use-answer") : null;
    var box = document.getElementById("reply-text");
    if (!link || !box) { return; }
    event.preventDefault();
    box.value = link.getAttribute("data-answer") || "";
    box.focus();
    box.scrollIntoView({ block: "center" });
  });
}());
