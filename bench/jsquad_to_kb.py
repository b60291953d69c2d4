"""Turn a JSQuAD (SQuAD-format) file into a knowledge folder plus a QA set.

    python bench/jsquad_to_kb.py SRC.json OUT_DIR

Writes one UTF-8 text file per paragraph, named by the paragraph id (the question id without its
trailing ``q<n>``, e.g. ``a1025052p0.txt``), and ``OUT_DIR/qa.jsonl`` with one line per question:
``{"question": ..., "expected_source": "<paragraph id>.txt"}``. The ``expected_source`` is the
path relative to the knowledge folder, which is what ingest stores as a chunk's ``source``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

_QID = re.compile(r"^(?P<pid>.+?)q\d+$")


def paragraph_id(question_id: str) -> str:
    match = _QID.match(question_id)
    if not match:
        raise ValueError(f"unexpected JSQuAD question id: {question_id!r}")
    return match.group("pid")


def paragraph_text(title: str, context: str) -> str:
    """JSQuAD contexts start with "<title> [SEP] "; keep the title as the document's first line."""
    head, sep, body = context.partition("[SEP]")
    if sep:
        return f"{head.strip() or title}\n\n{body.strip()}\n"
    return f"{title}\n\n{context.strip()}\n"


def convert(src: Path, out_dir: Path) -> tuple[int, int]:
    data = json.loads(src.read_text(encoding="utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    n_par = n_q = 0
    with (out_dir / "qa.jsonl").open("w", encoding="utf-8") as qa:
        for article in data["data"]:
            for par in article["paragraphs"]:
                if not par.get("qas"):
                    continue
                pid = paragraph_id(par["qas"][0]["id"])
                name = f"{pid}.txt"
                (out_dir / name).write_text(paragraph_text(article["title"], par["context"]),
                                            encoding="utf-8")
                n_par += 1
                for q in par["qas"]:
                    if paragraph_id(q["id"]) != pid:
                        raise ValueError(f"question {q['id']} does not belong to paragraph {pid}")
                    qa.write(json.dumps({"question": q["question"], "expected_source": name},
                                        ensure_ascii=False) + "\n")
                    n_q += 1
    return n_par, n_q


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    if not args.src.is_file():
        print(f"入力ファイルが見つかりません: {args.src}", file=sys.stderr)
        return 1
    n_par, n_q = convert(args.src, args.out_dir)
    print(f"{n_par} paragraphs, {n_q} questions -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
