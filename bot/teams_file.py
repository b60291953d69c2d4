"""The teams file (``CONSULT_TEAMS_FILE``, YAML): read and validated once at start.

    teams:
      - id: soya                              # 半角英数字・-・_（相談に記録されます）
        name: 宗谷総合振興局 地域創生課
        channel: C0SOYA0001                   # 相談カードを投稿するチャンネル
        users: [U0SOYA0001, U0SOYA0002]       # チャンネルのメンバーもチームの職員です
        subprefectures: [宗谷]                 # 担当する（総合）振興局
      - id: shichoson
        name: 本庁 市町村課
        channel: C0HONCHO01
        programmes: [ふるさと納税]              # 担当する事業（引用された資料の節の見出し）
        programme_first: true                 # 事業の振り分けを振興局より優先する
      - id: honcho
        name: 本庁 地域政策課
        channel: C0HONCHO02
        administrators: true                  # すべての相談を操作できる
        default: true                         # どこにも当てはまらない相談を受け持つ

A mistake stops the start with one polite Japanese line per problem, naming the line and the
field (``チーム設定ファイル teams.yml の 7 行目（subprefectures）: …``). When no team is marked
``default: true``, the team made from ``CONSULT_STAFF_CHANNEL`` / ``CONSULT_STAFF_USERS`` (id
``default``) is added as the default; with neither, the file is refused. See
``docs/teams.example.yml`` and the README.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.directory import MunicipalityDirectory
from bot.errors import ConfigError
from bot.teams import DEFAULT_TEAM_ID, Team, Teams, settings_team

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
FIELDS = {
    "id": "チーム ID", "name": "チーム名", "channel": "チャンネル", "users": "職員",
    "subprefectures": "担当する振興局", "programmes": "担当する事業",
    "administrators": "管理者チーム", "programme_first": "事業の振り分けを優先", "default": "既定のチーム",
}
TOP_FIELDS = {"teams", "programme_first"}


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, line: int | None, field: str | None, message: str) -> None:
        where = f"{line} 行目" if line else "全体"
        if field:
            where += f"（{field}）"
        self.lines.append(f"チーム設定ファイル {self.source} の {where}: {message}")

    def raise_if_any(self) -> None:
        if self.lines:
            text = "\n".join(self.lines)
            raise ConfigError(text, user_message=text)


def load_teams(path: str | Path, settings=None, *,
               directory: MunicipalityDirectory | None = None) -> Teams:
    """Read and validate the teams file (ConfigError listing every problem)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _config(f"チーム設定ファイル {path} が見つかりません（CONSULT_TEAMS_FILE を確認してください）。")
    except UnicodeDecodeError:
        raise _config(f"チーム設定ファイル {path} は UTF-8 で保存してください。")
    except OSError as exc:
        raise _config(f"チーム設定ファイル {path} を読めません（{type(exc).__name__}）。")
    return parse_teams(text, str(path), settings, directory=directory)


def _config(text: str) -> ConfigError:
    return ConfigError(text, user_message=text)


def parse_teams(text: str, source: str = "teams.yml", settings=None, *,
                directory: MunicipalityDirectory | None = None) -> Teams:
    import yaml

    directory = directory or MunicipalityDirectory.bundled()
    problems = _Problems(source)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.add(mark.line + 1 if mark else None, None,
                     "YAML として読み取れません。字下げ（半角スペース）や「:」の後の空白をご確認ください。")
        problems.raise_if_any()
    items, programme_first = _top(root, problems)
    teams: list[Team] = []
    seen_ids: dict[str, int] = {}
    covered: dict[str, tuple[str, int]] = {}
    for node in items:
        team = _team(node, problems, directory, programme_first)
        if team is None:
            continue
        line = node.start_mark.line + 1
        if team.id in seen_ids:
            problems.add(line, "id", f"チーム ID「{team.id}」は {seen_ids[team.id]} 行目のチームと重複しています。")
            continue
        seen_ids[team.id] = line
        for sp in team.subprefectures:
            if sp in covered:
                problems.add(line, "subprefectures",
                             f"{sp}は {covered[sp][1]} 行目のチーム「{covered[sp][0]}」も担当しています。"
                             "1 つの振興局は 1 つのチームだけが担当できます。")
            covered[sp] = (team.id, line)
        teams.append(team)
    problems.raise_if_any()
    defaults = [t for t in teams if t.default]
    if len(defaults) > 1:
        problems.add(None, "default", "既定のチーム（default: true）は 1 つだけにしてください（"
                     + "、".join(t.id for t in defaults) + "）。")
    elif not defaults:
        if settings is not None and (settings.staff_channel or settings.staff_users):
            if DEFAULT_TEAM_ID in seen_ids:
                problems.add(seen_ids[DEFAULT_TEAM_ID], "id", f"ID「{DEFAULT_TEAM_ID}」は CONSULT_STAFF_CHANNEL "
                             "から作る既定のチームの ID です。どれか 1 つのチームに default: true を書いてください。")
            else:
                teams.append(settings_team(settings, administrators=False))
        else:
            problems.add(None, "default", "既定のチームがありません。どれか 1 つのチームに default: true を"
                         "書くか、CONSULT_STAFF_CHANNEL を設定してください。")
    problems.raise_if_any()
    return Teams(teams, directory=directory, source=source)


# ---- parts ---------------------------------------------------------------------------------------
def _line(node) -> int:
    return node.start_mark.line + 1


def _top(root, problems: _Problems) -> tuple[list, bool]:
    import yaml

    if root is None:
        problems.add(None, None, "チームが 1 つも書かれていません（teams: の下に並べてください）。")
        problems.raise_if_any()
    programme_first = False
    if isinstance(root, yaml.SequenceNode):
        return list(root.value), programme_first
    if not isinstance(root, yaml.MappingNode):
        problems.add(_line(root), None, "「teams:」の下にチームを並べてください。")
        problems.raise_if_any()
    items = None
    for key, value in root.value:
        name = key.value
        if name == "teams":
            if not isinstance(value, yaml.SequenceNode) or not value.value:
                problems.add(_line(key), "teams", "チームを「- id: …」の形で 1 つ以上並べてください。")
            else:
                items = list(value.value)
        elif name == "programme_first":
            programme_first = _bool(value, problems, "programme_first")
        else:
            problems.add(_line(key), str(name), f"「{name}」は使えない項目です（使えるのは teams, programme_first）。")
    if items is None and not problems.lines:
        problems.add(None, "teams", "「teams:」がありません。")
    problems.raise_if_any()
    return items or [], programme_first


def _team(node, problems: _Problems, directory: MunicipalityDirectory,
          programme_first_default: bool) -> Team | None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        problems.add(_line(node), None, "チームは「id:」「name:」などの項目で書いてください。")
        return None
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    before = len(problems.lines)
    for key, value in node.value:
        name = str(key.value)
        if name not in FIELDS:
            problems.add(_line(key), name, f"「{name}」は使えない項目です（使えるのは {', '.join(FIELDS)}）。")
            continue
        lines[name] = _line(key)
        if name in ("administrators", "programme_first", "default"):
            values[name] = _bool(value, problems, name)
        elif name in ("users", "subprefectures", "programmes"):
            values[name] = _strings(value, problems, name)
        else:
            values[name] = _scalar(value, problems, name)
    line = _line(node)
    team_id = values.get("id") or ""
    if not team_id:
        problems.add(line, "id", "チーム ID（id）を書いてください（例: soya）。")
    elif not _ID.match(team_id):
        problems.add(lines["id"], "id", f"チーム ID「{team_id}」には半角英数字と「-」「_」だけを使ってください（32 文字まで）。")
    if not values.get("name"):
        problems.add(line, "name", "チーム名（name）を書いてください（例: 宗谷総合振興局 地域創生課）。")
    channel = values.get("channel") or None
    if channel and not _CHANNEL.match(channel):
        problems.add(lines["channel"], "channel", f"「{channel}」はチャンネル ID ではありません（例: C0123ABCD）。")
    if not channel and not values.get("users"):
        problems.add(line, "channel", "チャンネル（channel）か職員（users）の少なくとも一方を書いてください。")
    for user in values.get("users") or ():
        if not _USER.match(user):
            problems.add(lines["users"], "users", f"「{user}」は Slack のユーザー ID ではありません（例: U0123ABCD）。")
    subprefectures = []
    for text in values.get("subprefectures") or ():
        sp = directory.subprefecture(text)
        if sp is None:
            known = "、".join(s.short for s in directory.subprefectures)
            problems.add(lines["subprefectures"], "subprefectures",
                         f"「{text}」は北海道の総合振興局・振興局の名前として見つかりません（{known}）。")
        elif sp.name not in subprefectures:
            subprefectures.append(sp.name)
    if len(problems.lines) > before:
        return None
    return Team(id=team_id, name=values["name"], channel=channel,
                users=frozenset(values.get("users") or ()), subprefectures=tuple(subprefectures),
                programmes=tuple(values.get("programmes") or ()),
                administrators=values.get("administrators", False),
                programme_first=values.get("programme_first", programme_first_default),
                default=values.get("default", False))


def _scalar(node, problems: _Problems, name: str) -> str:
    import yaml

    if not isinstance(node, yaml.ScalarNode):
        problems.add(_line(node), name, f"{FIELDS.get(name, name)}は 1 つの値で書いてください。")
        return ""
    return str(node.value).strip()


def _strings(node, problems: _Problems, name: str) -> list[str]:
    import yaml

    if isinstance(node, yaml.ScalarNode):      # one value, or "a, b" / "a、b"
        return [v.strip() for v in re.split(r"[,、]", str(node.value)) if v.strip()]
    if isinstance(node, yaml.SequenceNode):
        out = []
        for item in node.value:
            if isinstance(item, yaml.ScalarNode) and str(item.value).strip():
                out.append(str(item.value).strip())
            else:
                problems.add(_line(item), name, f"{FIELDS[name]}は文字の並び（[a, b]）で書いてください。")
        return out
    problems.add(_line(node), name, f"{FIELDS[name]}は文字の並び（[a, b]）で書いてください。")
    return []


def _bool(node, problems: _Problems, name: str) -> bool:
    import yaml

    value = str(node.value).strip().lower() if isinstance(node, yaml.ScalarNode) else None
    if value in ("true", "yes", "on", "はい"):
        return True
    if value in ("false", "no", "off", "いいえ", ""):
        return False
    problems.add(_line(node), name, f"{FIELDS.get(name, name)}は true か false で書いてください。")
    return False
