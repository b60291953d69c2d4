"""The CLI's one edge for errors: whatever a command raises becomes one Japanese line on stderr
and a non-zero exit code — never a traceback (that goes to the log at DEBUG level)."""

from __future__ import annotations

import errno
import logging
import os
import sys

from bot.errors import ConfigError, ConsultError

log = logging.getLogger("consult")

_OS_MESSAGES = {
    errno.ENOSPC: "書き込み先に空き容量がありません",
    errno.EDQUOT: "書き込み先の容量制限を超えました",
    errno.EISDIR: "フォルダが指定されています。ファイル名を指定してください",
    errno.ENOTDIR: "パスの途中にフォルダではないものがあります",
    errno.ENOENT: "ファイルまたはフォルダが見つかりません",
    errno.EACCES: "アクセスする権限がありません",
    errno.EPERM: "この操作は許可されていません",
    errno.EROFS: "読み取り専用の場所には書き込めません",
    errno.EEXIST: "同じ名前のファイルがすでにあります",
}


def describe(exc: BaseException) -> tuple[str, int]:
    """(one-line Japanese message, exit code) for an exception that left a command."""
    from ingest.errors import IngestError

    if isinstance(exc, ConsultError):
        # The detail when it was written for people (Japanese), else the polite user_message.
        text = str(exc) if any(ch >= "\u3000" for ch in str(exc)) else exc.user_message
        return (text if isinstance(exc, ConfigError) else f"エラー: {text}"), 1
    if isinstance(exc, IngestError):
        return f"エラー: {exc}", 1
    if isinstance(exc, KeyboardInterrupt):
        return "中断しました。", 130
    if isinstance(exc, UnicodeError):
        return ("エラー: ファイルを文字として読めませんでした（UTF-8 のテキストファイルを指定してください）。", 1)
    if isinstance(exc, OSError):
        reason = _OS_MESSAGES.get(exc.errno or 0) or (exc.strerror or type(exc).__name__)
        where = exc.filename if exc.filename is not None else ""
        return f"エラー: {reason}" + (f"（{where}）" if where else "") + "。", 1
    return (f"エラー: 予期しない問題が発生しました（{type(exc).__name__}）。"
            "CONSULT_LOG_LEVEL=DEBUG で実行すると詳細がログに残ります。", 1)


def exit_with(exc: BaseException) -> None:
    if isinstance(exc, BrokenPipeError):  # `consult … | head`: the reader left, nothing to say
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        sys.exit(1)
    message, code = describe(exc)
    log.debug("command failed", exc_info=exc)
    print(message, file=sys.stderr)
    sys.exit(code)
