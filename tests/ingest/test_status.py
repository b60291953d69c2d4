"""ingest.status: the read-only view of the index for the console's 資料 page."""

from __future__ import annotations

from ingest.pipeline import run_ingest
from ingest.status import index_status

from .conftest import write


def test_status_before_and_after_ingest_with_a_failed_file(index_settings, kb, counting):
    settings = index_settings()
    empty = index_status(settings)
    assert not empty.ingested and empty.documents == () and empty.last_run is None

    run_ingest(settings, embeddings=counting)
    status = index_status(settings)
    assert status.ingested and status.embedding_model == "multilingual-e5-small"
    by_source = {d.source: d for d in status.documents}
    assert set(by_source) == {"strategy/plan.txt", "rules/grant.md", "faq/faq.csv"}
    assert by_source["rules/grant.md"].doc_type == "rules"
    assert by_source["faq/faq.csv"].doc_type == "faq"
    assert all(d.title and d.chunks > 0 and d.indexed_at for d in status.documents)
    assert status.chunks == sum(d.chunks for d in status.documents)
    run = status.last_run
    assert run.files_new == 3 and run.chunks_added == status.chunks and not run.failed
    first_indexed = by_source["strategy/plan.txt"].indexed_at

    write(kb / "rules" / "scan.pdf", "%PDF-1.4 broken")
    (kb / "faq" / "faq.csv").unlink()
    run_ingest(settings, embeddings=counting)
    status = index_status(settings)
    run = status.last_run
    assert run.files_removed == 1 and run.chunks_deleted > 0
    assert [path for path, _ in run.failed] == ["rules/scan.pdf"] and run.failed[0][1]
    assert {d.source for d in status.documents} == {"strategy/plan.txt", "rules/grant.md"}
    # an unchanged file keeps the time it was indexed
    assert {d.source: d for d in status.documents}["strategy/plan.txt"].indexed_at == first_indexed
