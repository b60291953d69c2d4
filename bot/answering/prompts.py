"""Prompt templates loaded from `prompts/*.md` at run time.

Each file starts with a small front matter block (`name`, `version`, `description`) followed by
the Japanese template text; `{placeholders}` are filled with `str.format`-style substitution of
named fields only. The version of every template used is recorded with each answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ConfigError

DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
_FRONT = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*\n(?P<body>.*)\Z", re.S)
_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    text: str

    @property
    def tag(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def fields(self) -> set[str]:
        return set(_FIELD.findall(self.text))

    def render(self, **values: str) -> str:
        missing = self.fields - values.keys()
        if missing:
            raise KeyError(f"prompt {self.name} needs {sorted(missing)}")
        # Substitute only our own {field} markers, so braces inside values stay untouched.
        return _FIELD.sub(lambda m: values[m.group(1)] if m.group(1) in values else m.group(0),
                          self.text)


def load_prompt(name: str, directory: Path = DEFAULT_PROMPTS_DIR) -> PromptTemplate:
    path = directory / f"{name}.md"
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"prompt file missing: {path}",
                          user_message=f"プロンプトファイル {path} を読み込めませんでした。") from exc
    match = _FRONT.match(raw)
    if not match:
        raise ConfigError(f"prompt file {path} has no front matter with a version")
    meta = {}
    for line in match.group("meta").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.strip().strip('"\'')
    version = meta.get("version")
    if not version:
        raise ConfigError(f"prompt file {path} has no version in its front matter")
    return PromptTemplate(name=meta.get("name", name), version=version,
                          text=match.group("body").strip() + "\n")


@dataclass(frozen=True)
class PromptSet:
    answer_system: PromptTemplate
    answer_user: PromptTemplate
    condense_system: PromptTemplate
    condense_user: PromptTemplate

    @classmethod
    def load(cls, directory: Path = DEFAULT_PROMPTS_DIR) -> "PromptSet":
        return cls(*(load_prompt(n, directory) for n in
                     ("answer.system", "answer.user", "condense.system", "condense.user")))

    @property
    def answer_version(self) -> str:
        return f"{self.answer_system.tag}+{self.answer_user.tag}"

    @property
    def condense_version(self) -> str:
        return f"{self.condense_system.tag}+{self.condense_user.tag}"


# ---- data hygiene: documents and questions are data, never instructions ----------------------

_ANGLE = str.maketrans({"<": "＜", ">": "＞"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def neutralise(text: str) -> str:
    """Make text safe to place inside a delimited block: angle brackets become full-width (so a
    document cannot close `</document>` or open a fake `<question>`), control characters go."""
    return _CONTROL.sub("", text).translate(_ANGLE)
