"""Who belongs to which municipality: a CSV mapping Slack ids and e-mail domains to a
municipality (``CONSULT_MUNICIPALITY_MAP``), and the resolver that uses it for each consultation.

Format (UTF-8, with or without BOM; ``#`` lines are comments)::

    slack_id,municipality
    U0123ABCD,札幌市                  # a user
    C0456EFGH,旭川市                  # a channel (every question asked there)
    T0789IJKL,稚内市                  # a Slack team: the municipality's own workspace (Slack Connect)
    city.wakkanai.lg.jp,稚内市        # an e-mail domain (and its subdomains) of the Slack profile
    *.kutchan.lg.jp,倶知安町           # only subdomains

The header may also be written in Japanese (``ID,市町村``). Names are normalised with the bundled
directory (``北海道虻田郡倶知安町``, ``くっちゃん`` and ``012149`` all work); an unknown name is refused
with its line number and candidates. Lookup order: user, channel, team, e-mail domain (the most
specific pattern wins). The file is re-read when it changes, so staff can edit it without
restarting the bot. A case's municipality can also be corrected by staff later (audited).

The team and the e-mail address come from the Slack profile (``users.info``: ``team_id`` and
``profile.email``, which needs the ``users:read.email`` scope), looked up only when the file has
team or domain entries and neither the user nor the channel matched (``ProfileLookup``, cached).
"""

from __future__ import annotations

import csv
import io
import logging
import threading
from pathlib import Path

from bot.directory import MunicipalityDirectory, UnknownMunicipality
from bot.errors import ConfigError

log = logging.getLogger(__name__)

_ID_HEADERS = {"slack_id", "id", "user_id", "channel_id", "ＩＤ", "slackid"}
_NAME_HEADERS = {"municipality", "市町村", "市町村名", "自治体", "自治体名"}


def is_domain_key(key: str) -> bool:
    return "." in key


def is_team_key(key: str) -> bool:
    return key[:1] in ("T", "E") and key.isalnum() and key.isupper()


def domain_key(key: str) -> str:
    """"@City.Wakkanai.LG.JP" -> "city.wakkanai.lg.jp" ("*." kept: subdomains only)."""
    return key.strip().lstrip("@").lower()


def parse_mapping(text: str, source: str = "CSV", *,
                  directory: MunicipalityDirectory | None = None) -> dict[str, str]:
    """Parse the mapping text; raise ConfigError naming the bad line. Names are normalised to
    the directory's ("わっかない" -> "稚内市")."""
    directory = directory or MunicipalityDirectory.bundled()
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
        key, typed = row[id_col].strip(), row[name_col].strip()
        try:
            name = directory.resolve(typed).name
        except UnknownMunicipality as exc:
            raise ConfigError(f"{source}:{line_no}: unknown municipality", user_message=(
                f"市町村対応表 {source} の {line_no} 行目: {exc.user_message}")) from None
        mapping[domain_key(key) if is_domain_key(key) else key] = name
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

    def lookup(self, user_id: str | None, channel: str | None = None, *, team: str | None = None,
               email: str | None = None) -> str | None:
        """The municipality of a user, else of the channel, the Slack team, the e-mail domain."""
        self._refresh()
        for key in (user_id, channel, team):
            if key and key in self._mapping:
                return self._mapping[key]
        return self._by_domain(email)

    def _by_domain(self, email: str | None) -> str | None:
        if not email or "@" not in email:
            return None
        domain = email.rsplit("@", 1)[1].strip().lower()
        labels = domain.split(".")
        for i in range(len(labels) - 1):          # most specific first
            suffix = ".".join(labels[i:])
            if i == 0 and suffix in self._mapping:
                return self._mapping[suffix]
            if i > 0 and (f"*.{suffix}" in self._mapping or suffix in self._mapping):
                return self._mapping.get(f"*.{suffix}") or self._mapping[suffix]
        return None

    @property
    def uses_profiles(self) -> bool:
        """True when some entry needs the Slack profile (a team id or an e-mail domain)."""
        self._refresh()
        return any(is_domain_key(k) or is_team_key(k) for k in self._mapping)

    def __len__(self) -> int:
        return len(self._mapping)


class ProfileLookup:
    """A Slack user's home team and e-mail address (``users.info``), cached for an hour.

    Any object with Slack's ``users_info`` works as ``client``. A failure is logged and counts as
    "unknown" (the consultation goes on without a municipality)."""

    TTL_S = 3600.0

    def __init__(self, client) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, tuple[str | None, str | None]]] = {}

    def __call__(self, user_id: str | None) -> tuple[str | None, str | None]:
        """(team id, e-mail) of a Slack user; (None, None) for anyone else or on failure."""
        import time

        if not user_id or user_id[:1] not in ("U", "W") or not user_id.isalnum():
            return None, None
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(user_id)
            if hit and now - hit[0] < self.TTL_S:
                return hit[1]
        result: tuple[str | None, str | None] = (None, None)
        try:
            user = self.client.users_info(user=user_id).get("user") or {}
            profile = user.get("profile") or {}
            result = (user.get("team_id") or profile.get("team") or None,
                      profile.get("email") or None)
        except Exception as exc:
            response = getattr(exc, "response", None)
            log.warning("users.info failed while finding a municipality: %s",
                        response.get("error") if response is not None else type(exc).__name__)
            return result
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[user_id] = (now, result)
        return result


def find_municipality(mapping: MunicipalityMap, user_id: str | None, channel: str | None = None,
                      team: str | None = None, profiles: ProfileLookup | None = None) -> str | None:
    """The requester's municipality from the mapping: user, channel, the event's team, then the
    Slack profile's team and e-mail domain (looked up only when the file has such entries)."""
    found = mapping.lookup(user_id, channel, team=team)
    if found is None and profiles is not None and mapping.uses_profiles:
        profile_team, email = profiles(user_id)
        found = mapping.lookup(None, None, team=profile_team, email=email)
    return found
