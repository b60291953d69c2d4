// 「類似の相談・FAQ」: the case page shows at once; the similar cases (which may need the
// embedding model) are fetched afterwards into the panel's slot. Without JavaScript the slot's
// link opens the page with the panel computed inline.
(function () {
  "use strict";
  function fill(slot) {
    var src = slot.getAttribute("data-similar-src");
    if (!src || !window.fetch) { return; }
    slot.setAttribute("aria-busy", "true");
    var link = slot.querySelector("a");
    if (link) { link.textContent = "似た質問の解決済み相談・FAQ を探しています…"; }
    fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) { slot.innerHTML = html; })
      .catch(function () {
        if (link) { link.textContent = "類似の相談・FAQ を読み込めませんでした。ここを押すと表示します。"; }
      })
      .then(function () { slot.removeAttribute("aria-busy"); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var slots = document.querySelectorAll("[data-similar-src]");
    for (var i = 0; i < slots.length; i += 1) { fill(slots[i]); }
  });
}());
