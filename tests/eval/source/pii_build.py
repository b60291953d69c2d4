"""Builds ``tests/eval/pii.jsonl`` (run: ``python tests/eval/source/pii_build.py``; deterministic).

Officers' Slack messages written for issue 14: sentence frames as officers type them, filled with
personal data in the forms people write it (full-width, kanji numerals, odd separators, several
in one message) — every inserted value is annotated with its exact span and type. Clean messages
are dense with programme, place and organisation names (knowledge base, municipality directory),
deadlines, amounts and role words, and contain no personal data.

Held-out: the ``heldout`` lines use their OWN frames and value pools (names, numbers, places,
domains) that the ``tune`` lines never use, so tuning on ``tune`` cannot fit them.
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

from stdnum.jp import in_

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "tests/eval/pii.jsonl"
KANJI = str.maketrans("0123456789", "〇一二三四五六七八九")
FULL = str.maketrans("0123456789-@.abcdefghijklmnopqrstuvwxyz_", "０１２３４５６７８９－＠．ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ＿")

# ---- value pools: (tune, heldout) -------------------------------------------------------------
SURNAMES = (["山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤", "吉田", "山本",
             "中川", "長沼"],
            ["斎藤", "松本", "井上", "木村", "清水", "山崎", "阿部", "池田", "橋本", "石川", "前田", "藤田"])
GIVEN = (["太郎", "花子", "一郎", "健", "美咲", "翔太", "陽子", "大輔", "由美", "誠"],
         ["直樹", "恵", "拓也", "さくら", "浩二", "真由美", "亮", "千尋", "和也", "舞"])
HONORIFIC = (["様", "さん", "氏", "さん", "様"], ["さん", "様", "氏", "殿", "さん"])
DOMAINS = (["town.example.lg.jp", "example.jp", "city.example.hokkaido.jp", "gmail.com"],
           ["vill.example.lg.jp", "example.co.jp", "yahoo.co.jp", "mail.example.ne.jp"])
LOCALS = (["taro", "h.sato", "kyoryokutai2024", "suzuki-ichiro", "kikaku01"],
          ["naoki.m", "inoue_k", "furusato.tanto", "sakura1990", "tiiki-ok"])
PLACES = (["札幌市中央区", "旭川市", "上川郡東川町", "虻田郡倶知安町", "帯広市", "稚内市", "函館市"],
          ["釧路市", "北見市", "空知郡上富良野町", "河東郡音更町", "小樽市", "網走市", "苫小牧市"])
TOWNS = (["北", "南", "東", "中央", "本町", "栄町", "緑町"], ["西", "旭町", "錦町", "若葉", "大通", "新町", "末広"])

ERA_FORMS = ("{e}{y}年{m}月{d}日", "{e}{yk}年{mk}月{dk}日", "{E}{y}.{m}.{d}", "{g}年{m}月{d}日", "{g}/{m}/{d}")
ERAS = [("昭和", "S", 1926), ("平成", "H", 1989)]


def kanji_num(n: int) -> str:
    if n < 10:
        return "一二三四五六七八九"[n - 1] if n else "〇"
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else "一二三四五六七八九"[tens - 1]) + "十" + ("" if not ones else "一二三四五六七八九"[ones - 1])


def phone(rng: random.Random, split: int) -> str:
    kind = rng.choice(["mobile", "fixed", "fixed4", "free"])
    if kind == "mobile":
        head = rng.choice(["090", "080", "070"])
        parts = [head, f"{rng.randint(1000, 9999)}", f"{rng.randint(1000, 9999)}"]
    elif kind == "fixed":
        parts = ["011", f"{rng.randint(200, 899)}", f"{rng.randint(1000, 9999)}"]
    elif kind == "fixed4":
        parts = [rng.choice(["0166", "0155", "0136", "0138", "0154", "0157"]), f"{rng.randint(20, 69)}",
                 f"{rng.randint(1000, 9999)}"]
    else:
        parts = ["0120", f"{rng.randint(100, 999)}", f"{rng.randint(100, 999)}"]
    forms = ([lambda p: "-".join(p), lambda p: ".".join(p), lambda p: "".join(p),
              lambda p: "－".join(p).translate(FULL), lambda p: "－".join(p).translate(KANJI),
              lambda p: f"({p[0]}){p[1]}-{p[2]}", lambda p: " ".join(p)],
             [lambda p: "ー".join(p).translate(FULL), lambda p: "・".join(p), lambda p: "-".join(p),
              lambda p: "ー".join(p).translate(KANJI), lambda p: f"+81-{p[0][1:]}-{p[1]}-{p[2]}",
              lambda p: f"{p[0]}({p[1]}){p[2]}", lambda p: "".join(p).translate(FULL)])[split]
    return rng.choice(forms)(parts)


def my_number(rng: random.Random, split: int) -> str:
    base = "".join(str(rng.randint(0, 9)) for _ in range(11))
    n = base + in_.calc_check_digit(base)
    groups = [n[:4], n[4:8], n[8:]]
    forms = ([lambda g: "".join(g), lambda g: "-".join(g), lambda g: " ".join(g).translate(FULL),
              lambda g: " ".join(g)],
             [lambda g: "－".join(g).translate(FULL), lambda g: "".join(g).translate(KANJI),
              lambda g: "".join(g).translate(FULL), lambda g: "-".join(g)])[split]
    return rng.choice(forms)(groups)


def email(rng: random.Random, split: int) -> str:
    addr = f"{rng.choice(LOCALS[split])}@{rng.choice(DOMAINS[split])}"
    form = rng.random()
    if form < 0.3:
        return addr.translate(FULL)
    if form < 0.4:
        return addr.replace("@", "(at)") if split == 0 else addr.replace("@", "＠")
    return addr


def name(rng: random.Random, split: int, *, honorific: bool = True) -> tuple[str, str]:
    """(name, honorific) — the honorific is not part of the annotated span."""
    full = rng.random() < 0.5
    n = rng.choice(SURNAMES[split]) + (rng.choice(GIVEN[split]) if full else "")
    if full and rng.random() < 0.2:
        n = n[:2] + "　" + n[2:] if len(n) > 2 else n
    return n, (rng.choice(HONORIFIC[split]) if honorific else "")


def address(rng: random.Random, split: int) -> str:
    place = rng.choice(PLACES[split])
    town = rng.choice(TOWNS[split])
    a, b, c = rng.randint(1, 12), rng.randint(1, 20), rng.randint(1, 30)
    forms = ([f"{place}北{a}条西{b}丁目", f"{place}{town}{a}丁目{b}番{c}号", f"{place}{town}{a}丁目{b}-{c}",
              f"北海道{place}{town}{a}丁目{b}番地", f"{place}{town}{a}-{b}-{c}"],
             [f"{place}南{a}条東{b}丁目{c}", f"北海道{place}{town}{a}丁目{b}番{c}号",
              f"{place}{town}{a}丁目{b}-{c}".translate(FULL), f"{place}字{town}{rng.randint(100, 999)}番地",
              f"{place}{town}{a}条{b}丁目"])[split]
    text = rng.choice(forms)
    if rng.random() < 0.35:
        code = f"{rng.randint(40, 99):03d}-{rng.randint(0, 9999):04d}"
        text = f"〒{code} " + text if split == 0 or rng.random() < 0.5 else f"〒{code.translate(FULL)}{text}"
    return text


def birth(rng: random.Random, split: int) -> str:
    era, short, start = rng.choice(ERAS)
    y = rng.randint(30, 63) if era == "昭和" else rng.randint(1, 12)
    m, d = rng.randint(1, 12), rng.randint(1, 28)
    g = start + y - 1
    forms = ERA_FORMS[:3] if split == 0 else ERA_FORMS[1:]
    f = rng.choice(forms)
    return f.format(e=era, E=short, y=y, m=m, d=d, yk=kanji_num(y), mk=kanji_num(m), dk=kanji_num(d), g=g)


# ---- frames: {slot} = a value; text outside slots is the officer's -----------------------------
# slots: {name} (+ honorific), {bare} (a name without honorific), {phone}, {mynum}, {email},
# {addr}, {birth}
FRAMES_TUNE = [
    "お世話になっております。{name}から地域おこし協力隊の任期について問い合わせがありました。",
    "協力隊員の{name}（{birth}生）の住民票の扱いについて教えてください。",
    "{name}の連絡先は{phone}です。交付金の件で折り返しお願いできますか。",
    "申請者の{name}、住所は{addr}、電話{phone}です。この内容で申請書を出して大丈夫でしょうか。",
    "マイナンバー{mynum}の記載がある書類を添付してよいですか？",
    "住民の方から個人番号{mynum}を書いた申請書が届きました。どう扱えばよいでしょう。",
    "担当の{bare}です。メールは{email}までお願いします。",
    "ふるさと納税の寄附者（{name}、{addr}）から返礼品の問い合わせがありました。",
    "{name}の生年月日は{birth}です。協力隊の年齢要件に該当しますか？",
    "問い合わせ先：{phone}（平日9時〜17時）と書いてよいでしょうか。",
    "DXアドバイザーの件、{email}宛てに資料を送ってもらえますか？",
    "{addr}にお住まいの{name}から、空き家の活用について相談を受けています。",
    "{name}が{birth}生まれなのですが、集落支援員に応募できますか？",
    "電話番号 {phone}、メール {email} の方から地域づくり総合交付金の照会がありました。",
    "今日、{name}と{name}が役場に来られて、起業支援について聞かれました。",
    "先方の携帯は{phone}です。振興局から直接連絡してもらえますか？",
    "送付先は{addr}です。パンフレットを10部お願いします。",
    "{bare}から聞いたのですが、特定地域づくり事業協同組合の認定は道がするのですか？",
    "個人番号カードの番号が{mynum}と書かれた書類を受け取りました。保管方法は？",
    "協力隊OBの{name}（生年月日 {birth}、{phone}）を移住相談会の講師に呼びたいです。",
]
FRAMES_HELDOUT = [
    "すみません、{name}の件で確認です。連絡先{phone}、{email}とのことでした。",
    "隊員候補の{name}（{birth}生まれ）、現住所は{addr}です。任用前に何が必要ですか？",
    "昨日{bare}と話した件ですが、{mynum}という番号が申請書に書かれていました。",
    "{addr}の{name}から寄附の申し出がありました。企業版ふるさと納税と個人の違いは？",
    "折り返しは{phone}へお願いしますと{name}から伝言です。",
    "応募書類に生年月日：{birth}、マイナンバー：{mynum}と記載があります。そのまま受理してよいですか？",
    "{email}からメールが来ました。{name}という方で、協力隊の募集要項の件です。",
    "町民の{name}の自宅（{addr}）で移住体験を受け入れたいそうです。補助はありますか？",
    "地域振興派遣の件、窓口の{bare}に{phone}でつながりますか？",
    "{name}、{birth}生、{addr}在住、電話{phone}。この方の相談記録はどこまで残してよいですか？",
]
CLEAN_TUNE = [
    "{muni}で地域おこし協力隊を3名募集したいのですが、{sub}に相談すればよいですか？",
    "地域づくり総合交付金の申請締切は令和7年4月30日で合っていますか？",
    "{muni}と{muni}で広域連携の事業を考えています。地域政策推進事業費の対象になりますか？",
    "北海道創生ジャーナル「創る」の最新号に{muni}の事例が載ると聞きました。",
    "ほっかいどう応援団会議の会員企業と連携して、{muni}の課題を解決したいです。",
    "振興局長から、特定地域づくり事業協同組合の制度周知について説明があるそうです。",
    "令和6年度の実績報告は2025年5月31日までに{sub}へ提出でよいですか？",
    "企業版ふるさと納税で300万円の寄附の申し出がありました。手続きを教えてください。",
    "{muni}役場の企画課です。DX人材の派遣は何日から何日まで来てもらえますか？",
    "協力隊員さんの任期終了後の起業支援について、{sub}の担当者様に伺いたいです。",
    "第2期{muni}総合戦略（2020-2024）の見直しに振興局の職員にも入ってもらえますか？",
    "地域振興派遣で道職員2名に来てもらうには、いつまでに申請が必要ですか？",
    "{muni}の人口は約5,000人です。集落支援員と協力隊の併用はできますか？",
    "デジタル田園都市国家構想交付金の申請書の書き方を{sub}で見てもらえますか？",
    "ふるさと納税の研修会は10月15日と11月20日のどちらに参加すればよいですか？",
]
CLEAN_HELDOUT = [
    "{muni}企画振興課です。地域活性化起業人の受入れと協力隊の違いを教えてください。",
    "{sub}管内の{muni}と{muni}で移住フェアを共催します。道の支援はありますか？",
    "R7年度の地域づくり総合交付金、補助率1/2で上限500万円という理解で正しいですか？",
    "先週の会議で町長さんから、ふるさと納税の返礼品の見直しを指示されました。",
    "{muni}の旧小学校を活用した事業で、地域政策推進事業費は使えますか？",
    "皆様、北海道総合戦略の第3章について質問です。市町村総合戦略との関係は？",
    "地域プロジェクトマネージャーを{muni}に置く場合、{sub}のどの課に相談しますか？",
    "内閣府の地方創生推進交付金と道の交付金を併用できますか？（令和8年3月31日まで）",
    "{muni}の協議会で、特定地域づくり事業協同組合の設立を検討中です。認定の流れは？",
    "北1条の庁舎で開かれる説明会は14時からですか？",
]


def _municipalities(split: int, rng: random.Random):
    from bot.directory import MunicipalityDirectory

    ms = list(MunicipalityDirectory.bundled())
    half = [m for i, m in enumerate(ms) if i % 2 == split]
    return half


def fill(frame: str, rng: random.Random, split: int):
    text, spans = "", []
    pos = 0
    for m in re.finditer(r"\{(\w+)\}", frame):
        text += frame[pos:m.start()]
        slot = m.group(1)
        honorific = ""
        if slot in ("name", "bare"):
            value, honorific = name(rng, split, honorific=slot == "name")
            kind = "name"
        else:
            value, kind = {"phone": (phone, "phone"), "mynum": (my_number, "my_number"),
                           "email": (email, "email"), "addr": (address, "address"),
                           "birth": (birth, "birth_date")}[slot][0](rng, split), \
                {"phone": "phone", "mynum": "my_number", "email": "email", "addr": "address",
                 "birth": "birth_date"}[slot]
        spans.append({"start": len(text), "end": len(text) + len(value), "type": kind, "text": value})
        text += value + honorific
        pos = m.end()
    text += frame[pos:]
    return text, spans


def fill_clean(frame: str, rng: random.Random, split: int, munis) -> str:
    def repl(m):
        if m.group(1) == "muni":
            return rng.choice(munis).name
        return rng.choice(munis).subprefecture
    return re.sub(r"\{(\w+)\}", repl, frame)


def build() -> list[dict]:
    rng = random.Random(14)
    rows = []
    for split, frames, n in ((0, FRAMES_TUNE, 220), (1, FRAMES_HELDOUT, 110)):
        for i in range(n):
            frame = frames[i % len(frames)]
            text, spans = fill(frame, rng, split)
            rows.append({"id": f"pii-{'tune' if split == 0 else 'held'}-{i:03d}",
                         "split": "tune" if split == 0 else "heldout", "text": text, "spans": spans})
    faq = [r["質問"] for r in csv.DictReader(open(ROOT / "knowledge_base/faq/faq.csv", encoding="utf-8"))]
    for split, frames, n, extra in ((0, CLEAN_TUNE, 200, faq[::2]), (1, CLEAN_HELDOUT, 130, faq[1::2])):
        munis = _municipalities(split, rng)
        texts = [fill_clean(frames[i % len(frames)], rng, split, munis) for i in range(n)] + extra
        texts = list(dict.fromkeys(texts))          # a frame without slots is used once
        for i, text in enumerate(texts):
            rows.append({"id": f"clean-{'tune' if split == 0 else 'held'}-{i:03d}",
                         "split": "tune" if split == 0 else "heldout", "text": text, "spans": []})
    return rows


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT))
    rows = build()
    with open(OUT, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    pii = sum(1 for r in rows if r["spans"])
    print(f"{len(rows)} lines: {pii} with personal data, {len(rows) - pii} clean -> {OUT}")
