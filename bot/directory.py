"""The municipality directory of Hokkaido, bundled with the product (``bot/data/municipalities.csv``).

    directory = MunicipalityDirectory.bundled()
    directory.resolve("わっかない").name                 # -> "稚内市"
    directory.resolve("北海道虻田郡倶知安町").subprefecture  # -> "後志総合振興局"
    directory.subprefecture("宗谷").name                  # -> "宗谷総合振興局"

Every one of the 179 municipalities with its local-government code (全国地方公共団体コード, JIS X
0402: five digits and a check digit), name, reading, 郡 and its (総合)振興局; the file names its
sources. Typed names are normalised by ``bot.placenames`` (北海道 prefix, 郡, 旧字体, kana readings,
codes). The data is read once per process and never changes while it runs.
"""

from __future__ import annotations

import csv
import functools
import io
from collections import Counter
from dataclasses import dataclass
from importlib import resources

from bot.errors import InvalidInput

DATA_FILE = "municipalities.csv"
PREFECTURE = "北海道"
PREFECTURE_CODE = "010006"

# The 14 (総合)振興局 in the order of the ordinance's table (west to east, south to north as the
# prefecture lists them).
SUBPREFECTURE_ORDER = ("空知", "石狩", "後志", "胆振", "日高", "渡島", "檜山", "上川", "留萌", "宗谷",
                       "オホーツク", "十勝", "釧路", "根室")
_SUBPREFECTURE_SUFFIXES = ("総合振興局", "振興局")
_CHECK_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(code5: str) -> str:
    """The JIS X 0402 check digit of a five-digit code: 11 minus (weights 6,5,4,3,2 sum mod 11),
    the last digit of that (remainder 0 gives 1, remainder 1 gives 0)."""
    if len(code5) != 5 or not code5.isdigit():
        raise ValueError(f"not a five-digit code: {code5!r}")
    total = sum(int(d) * w for d, w in zip(code5, _CHECK_WEIGHTS))
    return str((11 - total % 11) % 10)


def valid_code(code: str) -> bool:
    return len(code) == 6 and code.isdigit() and check_digit(code[:5]) == code[5]


def short_subprefecture(name: str) -> str:
    """"宗谷総合振興局" -> "宗谷"; "石狩振興局" -> "石狩"."""
    for suffix in _SUBPREFECTURE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class Municipality:
    code: str                 # six digits, the last one the check digit: "012149"
    name: str                 # "稚内市"
    reading: str              # "わっかないし" (hiragana, with the suffix's reading)
    district: str | None      # "宗谷郡" for towns and villages; None for cities
    subprefecture: str        # "宗谷総合振興局"

    @property
    def subprefecture_short(self) -> str:
        return short_subprefecture(self.subprefecture)

    @property
    def full_name(self) -> str:
        """As written in an address: "北海道虻田郡倶知安町"."""
        return PREFECTURE + (self.district or "") + self.name


@dataclass(frozen=True)
class Subprefecture:
    name: str                                   # "宗谷総合振興局"
    short: str                                  # "宗谷"
    municipalities: tuple[Municipality, ...]    # in code order


class UnknownMunicipality(InvalidInput):
    """A typed municipality that is not in the directory (or matches several): the
    ``user_message`` names the candidates."""

    def __init__(self, detail: str, *, user_message: str, candidates: tuple[str, ...] = ()):
        super().__init__(detail, user_message=user_message)
        self.candidates = candidates


class MunicipalityDirectory:
    def __init__(self, municipalities: list[Municipality]) -> None:
        self.municipalities: tuple[Municipality, ...] = tuple(municipalities)
        self._by_code = {m.code: m for m in self.municipalities}
        self._by_name = {m.name: m for m in self.municipalities}
        groups: dict[str, list[Municipality]] = {}
        for m in self.municipalities:
            groups.setdefault(m.subprefecture, []).append(m)
        order = {short: i for i, short in enumerate(SUBPREFECTURE_ORDER)}
        self.subprefectures: tuple[Subprefecture, ...] = tuple(sorted(
            (Subprefecture(name, short_subprefecture(name), tuple(ms)) for name, ms in groups.items()),
            key=lambda sp: (order.get(sp.short, len(order)), sp.name)))
        self._subprefectures = {sp.name: sp for sp in self.subprefectures}
        from bot.placenames import NameIndex

        self._names = NameIndex(self)

    # ---- loading ----------------------------------------------------------------------------
    @classmethod
    @functools.cache
    def bundled(cls) -> "MunicipalityDirectory":
        """The directory shipped in ``bot/data`` (read once per process: immutable data)."""
        text = resources.files("bot.data").joinpath(DATA_FILE).read_text(encoding="utf-8")
        return cls(parse_directory(text))

    # ---- lookups ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.municipalities)

    def __iter__(self):
        return iter(self.municipalities)

    def get(self, name: str | None) -> Municipality | None:
        """By exact canonical name ("稚内市"); None otherwise (see ``resolve`` for typed text)."""
        return self._by_name.get(name or "")

    def by_code(self, code: str) -> Municipality | None:
        return self._by_code.get(code)

    def resolve(self, text: str) -> Municipality:
        """A municipality from what a person typed: its name with or without 北海道 / 郡 / suffix,
        old character forms, its reading (hiragana, katakana, half-width), or its code (6 digits,
        or 5 without the check digit). Raises ``UnknownMunicipality`` with candidates."""
        return self._names.resolve(text)

    def canonical(self, text: str | None) -> str | None:
        """``resolve(text).name``, None for empty text (unset); raises for unknown names."""
        if text is None or not text.strip():
            return None
        return self.resolve(text).name

    def subprefecture(self, text: str | None) -> Subprefecture | None:
        """A (総合)振興局 by its name, with or without the suffix, in old or new characters
        ("宗谷", "宗谷総合振興局", "桧山振興局", "オホーツク")."""
        return self._names.subprefecture(text)

    def subprefecture_of(self, municipality: str | None) -> Subprefecture | None:
        m = self.get(municipality)
        return self._subprefectures.get(m.subprefecture) if m else None

    def counts(self) -> dict[str, int]:
        """Municipalities per (総合)振興局 (short names)."""
        return dict(Counter(m.subprefecture_short for m in self.municipalities))


def parse_directory(text: str) -> list[Municipality]:
    """Rows of the bundled CSV (``#`` lines are comments). Raises ValueError on a bad row: the
    file is part of the product and checked by the tests."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    out = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        code = row["code"].strip()
        if not valid_code(code):
            raise ValueError(f"bad local-government code in the directory: {code}")
        out.append(Municipality(code=code, name=row["name"].strip(),
                                reading=row["reading"].strip(),
                                district=row["district"].strip() or None,
                                subprefecture=row["subprefecture"].strip()))
    return out


@dataclass(frozen=True)
class RegionCount:
    """Cases of one (総合)振興局 with the municipality breakdown inside it (statistics)."""

    name: str                                   # "宗谷総合振興局"; "未設定・その他" for the rest
    total: int
    municipalities: tuple[tuple[str, int], ...]  # most cases first


OTHER_REGION = "未設定・その他"


def group_by_subprefecture(by_municipality: dict[str, int],
                           directory: "MunicipalityDirectory | None" = None) -> list[RegionCount]:
    """Per-municipality counts grouped by (総合)振興局, in the ordinance's order; municipalities
    not in the directory (or unset: "") go to one last group. The one grouping behind
    `consult cases stats` and the console's 集計 page."""
    directory = directory or MunicipalityDirectory.bundled()
    groups: dict[str, Counter] = {}
    for name, n in by_municipality.items():
        m = directory.get(name)
        groups.setdefault(m.subprefecture if m else OTHER_REGION, Counter())[name or "未設定"] += n
    order = [sp.name for sp in directory.subprefectures] + [OTHER_REGION]
    return [RegionCount(region, sum(groups[region].values()),
                        tuple(sorted(groups[region].items(), key=lambda kv: (-kv[1], kv[0]))))
            for region in order if region in groups]
