"""Realistic consultation data for the console benchmark (bench/web.py), bulk-inserted.

The text reuses the vocabulary of the knowledge base (programme headings of the strategy excerpt,
its sentences, the FAQ's questions and answers) and, when the shared corpora are present
(`../shared/corpora`, read only, never copied), the support-programme records of
civichat_programs and the article titles and sentences of municipal_bulletin. Questions are
composed from programme names and aspects officers ask about; answers are 2–4 sentences of
those documents with [n] citations, or the honest decline.

Shapes follow the product: statuses (answered / needs_staff / in_progress / resolved), reasons,
assignees, 1–5 turns a case (3 on average), 👍/👎 with comments, the audit events (opened,
escalated with its reason, assigned, staff_reply, resolved, feedback), programmes derived from
the cited section. Rows are written with PostgreSQL COPY or SQLite executemany (the SQLite FTS
triggers index the text as it goes), never through the per-case store API.
"""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"
DECLINE = ("申し訳ありません。ご質問の内容について、資料には該当する記載が見つかりませんでした。"
           "職員に確認を依頼できますので、「職員に相談する」を押してください。")

# Hokkaido municipalities (a realistic spread of cities, towns and villages).
MUNICIPALITIES = (
    "札幌市 函館市 小樽市 旭川市 室蘭市 釧路市 帯広市 北見市 夕張市 岩見沢市 網走市 留萌市 苫小牧市 稚内市 "
    "美唄市 芦別市 江別市 赤平市 紋別市 士別市 名寄市 三笠市 根室市 千歳市 滝川市 砂川市 歌志内市 深川市 "
    "富良野市 登別市 恵庭市 伊達市 北広島市 石狩市 北斗市 当別町 新篠津村 松前町 福島町 知内町 木古内町 "
    "七飯町 鹿部町 森町 八雲町 長万部町 江差町 上ノ国町 厚沢部町 乙部町 奥尻町 今金町 せたな町 島牧村 "
    "寿都町 黒松内町 蘭越町 ニセコ町 真狩村 留寿都村 喜茂別町 京極町 倶知安町 共和町 岩内町 泊村 神恵内村 "
    "積丹町 古平町 仁木町 余市町 赤井川村 南幌町 奈井江町 上砂川町 由仁町 長沼町 栗山町 月形町 浦臼町 "
    "新十津川町 妹背牛町 秩父別町 雨竜町 北竜町 沼田町 鷹栖町 東神楽町 当麻町 比布町 愛別町 上川町 東川町 "
    "美瑛町 上富良野町 中富良野町 南富良野町 占冠村 和寒町 剣淵町 下川町 美深町 音威子府村 中川町 幌加内町 "
    "増毛町 小平町 苫前町 羽幌町 初山別村 遠別町 天塩町 猿払村 浜頓別町 中頓別町 枝幸町 豊富町 礼文町 "
    "利尻町 利尻富士町 幌延町 美幌町 津別町 斜里町 清里町 小清水町 訓子府町 置戸町 佐呂間町 遠軽町 湧別町 "
    "滝上町 興部町 西興部村 雄武町 大空町 豊浦町 壮瞥町 白老町 厚真町 洞爺湖町 安平町 むかわ町 日高町 "
    "平取町 新冠町 浦河町 様似町 えりも町 新ひだか町 音更町 士幌町 上士幌町 鹿追町 新得町 清水町 芽室町 "
    "中札内村 更別村 大樹町 広尾町 幕別町 池田町 豊頃町 本別町 足寄町 陸別町 浦幌町 釧路町 厚岸町 浜中町 "
    "標茶町 弟子屈町 鶴居村 白糠町 別海町 中標津町 標津町 羅臼町").split()
FAMILY = "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水".split()
GIVEN = "花子 太郎 陽子 健一 美咲 大輔 由美 翔太 直子 誠 恵 拓也 裕子 亮 真理 聡 明美 隆 彩 学".split()
ASPECTS = ("申請期限", "対象経費", "補助率", "上限額", "申請手続き", "必要書類", "実績報告の方法",
           "交付決定の時期", "対象となる事業", "他の補助金との併用", "事前相談の窓口", "変更申請の方法",
           "概算払いの可否", "採択の基準", "過去の活用事例", "募集期間", "対象者の要件", "予算の規模")
TEMPLATES = ("{p}の{a}について教えてください。", "{p}の{a}はどうなっていますか？",
             "{p}を活用したいのですが、{a}を確認させてください。", "{p}について、{a}が知りたいです。",
             "うちの町で{p}を使う場合の{a}は？", "{p}の{a}に関する最新の情報はありますか。")
CONTEXTS = ("当町では{t}に関連して検討しています。", "先日の{t}の件で相談です。",
            "{t}を進めるにあたり、", "議会で{t}について質問がありました。")
STAFF = tuple(f"U0STAFF{i:02d}" for i in range(1, 31))
REASONS = (("requested", 40), ("not_answered", 35), ("negative_feedback", 20), ("bot_error", 5))
FEEDBACK_COMMENTS = ("具体的な期限が書かれていませんでした", "うちの町の場合が知りたい", "回答が古い情報のようです",
                     "対象経費の範囲がわかりませんでした", "担当窓口を教えてほしい", "")
_SENTENCE = re.compile(r"[^。！？\n]{12,160}[。！？]")
_NOISE = re.compile(r"https?://|@|【|電話|FAX|[0-9]{3,}-[0-9]{3,}")


def team_of(municipality: str | None) -> str | None:
    """The bench's teams: one per (総合)振興局 (id = its short name); None (the default team) for
    a case without a municipality — as the product routes with a teams file of 14 teams."""
    from bot.directory import MunicipalityDirectory

    sp = MunicipalityDirectory.bundled().subprefecture_of(municipality)
    return sp.short if sp else None


@dataclass
class Vocabulary:
    programmes: list[tuple[str, str]]     # (programme name, its section path)
    topics: list[str]                      # other programme names officers mention
    contexts: list[str]                    # article titles for context sentences
    sentences: list[str]                   # answer material: knowledge base, programme records
    wide: list[str]                        # more Japanese prose (newsletter articles)
    faq: list[tuple[str, str, str]]        # (question, answer, section)
    corpora_used: bool


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text or "") if not _NOISE.search(s)]


def load_vocabulary(corpora: Path = CORPORA) -> Vocabulary:
    from bot.cases.programmes import programme_of
    from bot.domain import Passage

    md = (REPO / "knowledge_base/strategy/hokkaido_strategy_excerpt.md").read_text(encoding="utf-8")
    stack: list[str] = []
    programmes, sentences = [], []
    for line in md.splitlines():
        m = re.match(r"^(#{2,6})\s+(.*)", line)
        if m:
            depth = len(m.group(1)) - 2
            stack[depth:] = [m.group(2).strip()]
            section = " > ".join(stack)
            name = programme_of(Passage("x", "", "s.md", "北海道総合戦略", section, None, "strategy", 0))
            if depth >= 1 and name:
                programmes.append((name, section))
        else:
            sentences += _sentences(line)
    faq = []
    with (REPO / "knowledge_base/faq/faq.csv").open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            faq.append((row["質問"], row["回答"], row["該当箇所"]))
            sentences += _sentences(row["回答"])
    topics, contexts, wide, used = [p for p, _ in programmes], [], [], False
    civic = corpora / "civichat_programs"
    if civic.is_dir():
        used = True
        for path in sorted(civic.glob("*.json")):
            for rec in json.loads(path.read_text(encoding="utf-8"))["systemsData"]:
                if rec.get("タイトル（制度名）"):
                    topics.append(rec["タイトル（制度名）"].strip()[:40])
                for key in ("概要", "支援内容", "対象者"):
                    sentences += _sentences(rec.get(key) or "")
    bulletin = corpora / "municipal_bulletin" / "csv"
    if bulletin.is_dir():
        used = True
        for path in sorted(bulletin.glob("*.csv")):
            with path.open(encoding="utf-8-sig", newline="") as fh:
                for row in csv.DictReader(fh):
                    title = re.sub(r"[〔［\[].*?[〕］\]]|[!！?？].*$", "", row["記事タイトル"]).strip()
                    if 4 <= len(title) <= 30 and not re.search(r"[(（][0-9０-９]", title):
                        contexts.append(title)
                    wide += _sentences(row["記事本文"])[:4]
    sentences = list(dict.fromkeys(sentences))
    return Vocabulary(programmes, topics, contexts or [p for p, _ in programmes], sentences,
                      list(dict.fromkeys(wide)) or sentences, faq, used)


@dataclass
class Sizes:
    cases: int = 0
    turns: int = 0
    events: int = 0
    text_chars: int = 0


class Generator:
    """Rows of the three case tables, as tuples in column order (see COLUMNS)."""

    COLUMNS = {
        "consult_cases": ("id", "conversation_key", "kind", "workspace", "channel", "thread_ts",
                          "requester_id", "requester_name", "municipality", "title", "status",
                          "assignee", "escalation_reason", "programmes", "created_at",
                          "updated_at", "escalated_at", "first_staff_response_at", "resolved_at", "team"),
        "consult_turns": ("id", "case_id", "question", "pii_kinds", "answer", "answered", "mode",
                          "model", "prompt_version", "sources", "evidence", "latency_ms",
                          "created_at", "completed_at", "feedback", "feedback_by", "feedback_at",
                          "feedback_comment"),
        "consult_events": ("id", "case_id", "turn_id", "kind", "actor", "from_status",
                           "to_status", "text", "data", "created_at"),
    }

    def __init__(self, vocab: Vocabulary, now: datetime, seed: int = 20261201):
        self.v = vocab
        self.now = now
        self.rnd = random.Random(seed)
        self.sizes = Sizes()
        self.turn_id = 0
        self.event_id = 0
        self.officers = [(f"U{i:07d}", self.rnd.choice(FAMILY) + " " + self.rnd.choice(GIVEN),
                          self.rnd.choice(MUNICIPALITIES) if self.rnd.random() > 0.05 else None)
                         for i in range(1, 2001)]

    # ---- text -----------------------------------------------------------------------------
    def question(self) -> tuple[str, str, str]:
        """(question, programme, section)"""
        r = self.rnd
        name, section = r.choice(self.v.programmes)
        if r.random() < 0.25:
            q, _, faq_section = r.choice(self.v.faq)
            return q, name, faq_section or section
        topic = name if r.random() < 0.7 else r.choice(self.v.topics)
        q = r.choice(TEMPLATES).format(p=topic, a=r.choice(ASPECTS))
        if r.random() < 0.3:
            q = r.choice(CONTEXTS).format(t=r.choice(self.v.contexts)) + q
        return q, name, section

    def answer(self, section: str) -> str:
        r = self.rnd
        n = r.choice((2, 3, 3, 4, 5))
        parts = [r.choice(self.v.sentences if r.random() < 0.75 else self.v.wide) for _ in range(n)]
        parts[0] += " [1]"
        if len(parts) > 2:
            parts[-1] += " [2]"
        return "".join(parts)

    # ---- rows -----------------------------------------------------------------------------
    def case(self, case_id: int):
        """(case row, [turn rows], [event rows]) of one consultation."""
        r, now = self.rnd, self.now
        status = r.choices(("answered", "resolved", "in_progress", "needs_staff"),
                           (60, 30, 5, 5))[0]
        recent = status in ("needs_staff", "in_progress")
        created = now - timedelta(seconds=r.uniform(60, (21 if recent else 730) * 86400))
        officer, name, municipality = r.choice(self.officers)
        channel = f"C{r.randrange(200):08d}"
        thread = f"{int(created.timestamp())}.{case_id:06d}"
        escalated = status in ("needs_staff", "in_progress") or (status == "resolved"
                                                                  and r.random() < 0.7)
        reason = r.choices([x for x, _ in REASONS], [w for _, w in REASONS])[0] if escalated else None
        n_turns = r.choices((1, 2, 3, 4, 5), (15, 20, 30, 20, 15))[0]
        turns, events, programmes = [], [], []
        at = created
        events.append(self._event(case_id, None, "opened", officer, None, "answered", None, None, at))
        down_turn = r.randrange(n_turns) if reason == "negative_feedback" else -1
        for k in range(n_turns):
            self.turn_id += 1
            q, programme, section = self.question()
            declined = (reason in ("not_answered", "bot_error") and k == n_turns - 1) or \
                (reason is None and r.random() < 0.03 and status == "resolved")
            text = DECLINE if declined else self.answer(section)
            if not declined and programme not in programmes:
                programmes.append(programme)
            feedback = "down" if k == down_turn else (
                r.choices(("up", "down", None), (20, 3, 77))[0] if not declined else None)
            if feedback == "down" and reason is None and status == "answered":
                feedback = None  # a 👎 would have escalated the case
            fb_at = at + timedelta(minutes=r.uniform(1, 90)) if feedback else None
            comment = r.choice(FEEDBACK_COMMENTS) or None if feedback == "down" else None
            sources = [] if declined else [
                {"n": 1, "chunk_id": f"c{r.randrange(10**6)}", "source": "strategy/hokkaido_strategy_excerpt.md",
                 "title": "北海道総合戦略（抜粋）", "section": section, "page": None,
                 "doc_type": "strategy", "score": round(r.uniform(0.4, 0.9), 4),
                 "text": text[:200]}]
            turns.append((self.turn_id, case_id, q, [], text, not declined,
                          "none" if declined else "extractive", None, "extractive-1", sources,
                          round(r.uniform(0.2, 0.95), 3), r.randrange(300, 4000), at,
                          at + timedelta(seconds=r.uniform(1, 6)), feedback,
                          officer if feedback else None, fb_at, comment))
            self.sizes.text_chars += len(q) + len(text)
            if feedback:
                events.append(self._event(case_id, self.turn_id, "feedback", officer, None, None,
                                          comment, {"value": feedback}, fb_at))
            at += timedelta(minutes=r.uniform(2, 600))
        title = turns[0][2] if len(turns[0][2]) <= 80 else turns[0][2][:79] + "…"
        escalated_at = replied = resolved = assignee = None
        if escalated:
            escalated_at = turns[-1][12] + timedelta(minutes=r.uniform(1, 30))
            if reason == "negative_feedback":
                escalated_at = turns[down_turn][16]
            events.append(self._event(case_id, None, "escalated", officer if reason in
                                      ("requested", "negative_feedback") else "bot", "answered",
                                      "needs_staff", None, {"reason": reason}, escalated_at))
        if status in ("in_progress", "resolved") and escalated:
            assignee = r.choice(STAFF)
            taken = escalated_at + timedelta(hours=r.uniform(0.2, 30))
            events.append(self._event(case_id, None, "assigned", assignee, "needs_staff",
                                      "in_progress", assignee, None, taken))
            if status == "resolved" or r.random() < 0.6:
                replied = taken + timedelta(hours=r.uniform(0.1, 20))
                events.append(self._event(case_id, None, "staff_reply", assignee, None, None,
                                          r.choice(self.v.sentences), None, replied))
        if status == "resolved":
            resolved = max(at, replied or at) + timedelta(hours=r.uniform(0.5, 72))
            events.append(self._event(case_id, None, "resolved", assignee or r.choice(STAFF),
                                      "in_progress" if escalated else "answered", "resolved",
                                      None, None, resolved))
        updated = max(e[9] for e in events)
        row = (case_id, f"slack:T0BENCH:{channel}:{thread}", "slack", "T0BENCH", channel, thread,
               officer, name, municipality, title, status, assignee,
               reason if status in ("needs_staff", "in_progress") else None, programmes[:5],
               created, updated, escalated_at, replied, resolved,
               team_of(municipality) if escalated else None)
        self.sizes.cases += 1
        self.sizes.turns += len(turns)
        self.sizes.events += len(events)
        return row, turns, events

    def _event(self, case_id, turn_id, kind, actor, from_status, to_status, text, data, at):
        self.event_id += 1
        return (self.event_id, case_id, turn_id, kind, actor, from_status, to_status, text, data, at)


# ---- writers ---------------------------------------------------------------------------------

def _json_cols(table: str) -> set[int]:
    cols = Generator.COLUMNS[table]
    return {cols.index(c) for c in ("programmes", "pii_kinds", "sources", "data") if c in cols}


def write_postgres(url: str, gen: Generator, n_cases: int, batch: int = 5000, progress=print) -> None:
    """COPY the rows into the (migrated, empty) tables, then fix the id sequences and ANALYZE."""
    import psycopg
    from psycopg.types.json import Json

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        for start in range(1, n_cases + 1, batch):
            rows = {t: [] for t in Generator.COLUMNS}
            for case_id in range(start, min(n_cases, start + batch - 1) + 1):
                case, turns, events = gen.case(case_id)
                rows["consult_cases"].append(case)
                rows["consult_turns"].extend(turns)
                rows["consult_events"].extend(events)
            with conn.cursor() as cur:
                for table, cols in Generator.COLUMNS.items():
                    js = _json_cols(table)
                    with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                        for row in rows[table]:
                            copy.write_row([Json(v) if i in js and v is not None else v
                                            for i, v in enumerate(row)])
            conn.commit()
            progress(f"  {min(n_cases, start + batch - 1):,} / {n_cases:,} cases")
        with conn.cursor() as cur:
            for table in Generator.COLUMNS:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def write_sqlite(path: str, gen: Generator, n_cases: int, batch: int = 2000, progress=print) -> None:
    """executemany in batches; the FTS5 triggers index the text as the rows go in."""
    import sqlite3

    def sql_value(v):
        if isinstance(v, datetime):
            return v.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(v, (list, dict)):
            return json.dumps(v)
        return v

    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for start in range(1, n_cases + 1, batch):
            rows = {t: [] for t in Generator.COLUMNS}
            for case_id in range(start, min(n_cases, start + batch - 1) + 1):
                case, turns, events = gen.case(case_id)
                rows["consult_cases"].append(case)
                rows["consult_turns"].extend(turns)
                rows["consult_events"].extend(events)
            with conn:
                for table, cols in Generator.COLUMNS.items():
                    marks = ", ".join("?" * len(cols))
                    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                                     ([sql_value(v) for v in row] for row in rows[table]))
            progress(f"  {min(n_cases, start + batch - 1):,} / {n_cases:,} cases")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA optimize")
    finally:
        conn.close()
