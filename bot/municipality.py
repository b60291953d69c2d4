"""Who belongs to which municipality: a CSV mapping Slack user ids and channel ids to a
municipality name (``CONSULT_MUNICIPALITY_MAP``).

Format (UTF-8, with or without BOM; ``#`` lines are comments)::

    slack_id,municipality
    U0123ABCD,札幌市
    C0456EFGH,旭川市

The header may also be written in Japanese (``ID,市町村``). A user id wins over a channel id. The
file is re-read when it changes, so staff can edit it without restarting the bot. A case's
municipality can also be changed by staff later (``CaseStore.set_municipality``).
"""

from __future__ import annotations

import csv
import io
import logging
import threading
from pathlib import Path

from bot.errors import ConfigError

log = logging.getLogger(__name__)

_ID_HEADERS = {"slack_id", "id", "user_id", "channel_id", "ＩＤ", "slackid"}
_NAME_HEADERS = {"municipality", "市町村", "市町村名", "自治体", "自治体名"}


def parse_mapping(text: str, source: str = "CSV") -> dict[str, str]:
    """Parse the mapping text; raise ConfigError naming the bad line."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return {}
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in lines))))
    header = [h.strip().lower() for h in rows[0]]
    try:
        id_col = next(i for i, h in enumerate(header) if h in _ID_HEADERS)
        name_col = next(i for i, h in enumerate(header) if h in _NAME_HEADERS)
    except StopIteration:
        raise ConfigError(
            f"{source}: header must name the id and municipality columns",
            user_message=(f"市町村対応表 {source} の 1 行目には列名「slack_id,municipality」"
                          "（または「ID,市町村」）を書いてください。")) from None
    mapping: dict[str, str] = {}
    for (line_no, _), row in zip(lines[1:], rows[1:]):
        if len(row) <= max(id_col, name_col) or not row[id_col].strip() or not row[name_col].strip():
            raise ConfigError(f"{source}:{line_no}: id or municipality missing",
                              user_message=(f"市町村対応表 {source} の {line_no} 行目に ID または"
                                            "市町村名がありません。"))
        mapping[row[id_col].strip()] = row[name_col].strip()
    return mapping


class MunicipalityMap:
    """Lookup of a requester's municipality by Slack user id, then channel id."""

    def __init__(self, path: Path | None = None, mapping: dict[str, str] | None = None):
        self.path = path
        self._mapping = dict(mapping or {})
        self._mtime: float | None = None
        self._lock = threading.Lock()
        if path is not None:
            self._load()

    @classmethod
    def from_settings(cls, settings) -> "MunicipalityMap":
        if not settings.municipality_map:
            return cls()
        return cls(Path(settings.municipality_map))

    def _load(self) -> None:
        assert self.path is not None
        try:
            stat = self.path.stat()
            text = self.path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ConfigError(f"municipality map not found: {self.path}",
                              user_message=(f"市町村対応表 {self.path} が見つかりません"
                                            "（CONSULT_MUNICIPALITY_MAP を確認してください）。")) from None
        except UnicodeDecodeError:
            raise ConfigError(f"municipality map is not UTF-8: {self.path}",
                              user_message=f"市町村対応表 {self.path} は UTF-8 で保存してください。") from None
        self._mapping = parse_mapping(text, str(self.path))
        self._mtime = stat.st_mtime
        log.info("municipality map loaded: %d entries", len(self._mapping))

    def _refresh(self) -> None:
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            log.error("municipality map %s is no longer readable; keeping the last version", self.path)
            return
        if mtime != self._mtime:
            with self._lock:
                try:
                    self._load()
                except ConfigError as exc:
                    log.error("municipality map not reloaded, keeping the last version: %s", exc)
                    self._mtime = mtime

    def lookup(self, user_id: str | None, channel: str | None = None) -> str | None:
        self._refresh()
        for key in (user_id, channel):
            if key and key in self._mapping:
                return self._mapping[key]
        return None

    def __len__(self) -> int:
        return len(self._mapping)
