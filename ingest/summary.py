"""Human-readable (Japanese) summaries for the console, shared by `consult ingest` and
`python -m ingest`."""

from __future__ import annotations

from ingest.report import IngestReport


def format_report(report: IngestReport) -> str:
    head = "取り込みの予定（--dry-run: 埋め込み・書き込みは行っていません）" if report.dry_run else "取り込みが完了しました"
    if (report.failed or report.skipped) and not report.dry_run:
        head = "取り込みが完了しましたが、取り込めなかったファイルがあります"
    lines = [
        head,
        f"  対象フォルダ: {report.root}" + (f"（{report.scope} のみ）" if report.scope else ""),
        f"  埋め込みモデル: {report.embedding_model}",
        f"  ファイル: 検出 {report.files_seen} / 新規 {report.files_new} / 変更 {report.files_changed}"
        f" / 変更なし {report.files_unchanged} / 削除 {report.files_removed} / 失敗 {report.files_failed}",
        f"  チャンク: 追加 {report.chunks_added} / 既存のため省略 {report.chunks_skipped}"
        f" / 削除 {report.chunks_deleted} / 索引内の合計 {report.chunks_total}",
        f"  所要時間: {report.elapsed_s:.1f} 秒",
    ]
    if report.failed:
        lines.append("読み込めなかったファイル（以前に取り込んだ内容はそのまま残しています）:")
        lines.extend(f"  - {f['path']}: {f['error']}" for f in report.failed)
    if report.skipped:
        lines.append("取り込まなかったファイル:")
        lines.extend(f"  - {f['path']}: {f['error']}" for f in report.skipped)
    if report.repairs:
        lines.append("索引の修復:")
        lines.extend(f"  - {r}" for r in report.repairs)
    if report.switched:
        lines.append(f"  新しい索引に切り替えました（{report.collection}）。以前の索引は読み手が移った後に削除します。")
    if report.foreign_documents:
        lines.append(f"  ほかの資料フォルダの文書 {report.foreign_documents} 件はそのまま残しています"
                     "（削除するには --prune-foreign）。")
    if report.pruned_foreign:
        lines.append(f"  ほかの資料フォルダのチャンク {report.pruned_foreign} 件を削除しました（--prune-foreign）。")
    if report.unsupported:
        lines.append("対応していない形式のため読み飛ばしたファイル:")
        lines.extend(f"  - {f['path']}: {f['error']}" for f in report.unsupported)
    return "\n".join(lines)


def format_stats(stats: dict) -> str:
    lines = [
        "索引の状態",
        f"  文書数: {stats.get('documents', 0)}",
        f"  チャンク数: {stats.get('chunks', 0)}",
        "  文書種別ごとのチャンク数: "
        + ("、".join(f"{k} {v}" for k, v in (stats.get("per_doc_type") or {}).items()) or "なし"),
        f"  埋め込みモデル: {stats.get('embedding_model')}",
        f"  最終取り込み: {stats.get('last_ingest') or '不明'}",
    ]
    return "\n".join(lines)
