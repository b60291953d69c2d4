"""`python -m ingest [PATH] [--rebuild] [--dry-run] [--json] [--prune-foreign]` — the same as `consult ingest`,
built on `IndexSettings()` alone (this package never imports `bot`)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ingest.cli import ingest_command, stats_command
from ingest.settings import IndexSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description="資料フォルダを取り込み、検索用の索引を更新します。")
    parser.add_argument("path", nargs="?", type=Path, help="取り込むフォルダまたはファイル（省略時は CONSULT_KNOWLEDGE_DIR）")
    parser.add_argument("--rebuild", action="store_true", help="索引を作り直します")
    parser.add_argument("--dry-run", action="store_true", help="埋め込みを行わず、変更予定だけを表示します")
    parser.add_argument("--json", action="store_true", help="結果を JSON で出力します")
    parser.add_argument("--stats", action="store_true", help="索引の状態を表示します")
    parser.add_argument("--prune-foreign", action="store_true",
                        help="共有の索引から、ほかの資料フォルダが入れた文書も削除します")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = IndexSettings()
    except Exception as exc:
        print(f"エラー: 設定を読み込めませんでした: {exc}", file=sys.stderr)
        return 1
    if args.stats:
        return stats_command(settings, as_json=args.json)
    return ingest_command(settings, args.path, rebuild=args.rebuild, dry_run=args.dry_run, as_json=args.json,
                          prune_foreign=args.prune_foreign)


if __name__ == "__main__":
    sys.exit(main())
