"""`consult chat` and `consult ask` end to end: a real subprocess, piped stdin, a temp data dir
holding a copy of the bundled index, the real case database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(args, settings, tmp_path, stdin=None, **extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSULT_", "OPENAI_", "AZURE_"))}
    env.update(CONSULT_DATA_DIR=str(settings.data_dir), CONSULT_KNOWLEDGE_DIR=str(settings.knowledge_dir),
               CONSULT_LOG_LEVEL="WARNING", PYTHONPATH=str(REPO), **extra_env)
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True,
                          text=True, encoding="utf-8", env=env, cwd=tmp_path, timeout=240)


def test_console_chat_piped(indexed_settings, tmp_path):
    settings = indexed_settings()
    proc = _run(["chat"], settings, tmp_path,
                stdin="地域おこし協力隊の定住支援は？\nそれはどこが窓口になりますか？\n明日の札幌の天気は？\nexit\n"
                      "この行は読まれません\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    answers = out.split("質問> ")[1:]
    assert len(answers) == 3
    first, follow_up, weather = answers
    assert "【資料からの抜粋】" in first
    assert "ワンストップ窓口" in first and "[1]" in first
    assert "出典:" in first and ("hokkaido_strategy_excerpt.md" in first or "faq/faq.csv" in first)
    assert "協力隊" in first.split("出典:")[1]
    assert "相談番号: 相談#" in first
    assert "ワンストップ窓口" in follow_up  # history: the follow-up is answered in context
    assert "担当職員にお伝えしました" in weather and "出典:" not in weather
    # one case for the whole session, three turns
    refs = {line.split("相談番号: ")[1].rstrip("）") for line in out.splitlines() if "相談番号: " in line}
    assert len(refs) == 1
    assert "この行は読まれません" not in out


def test_console_chat_eof_and_pii_notice(indexed_settings, tmp_path):
    settings = indexed_settings()
    proc = _run(["chat"], settings, tmp_path, stdin="DXのアドバイザーについて 090-1234-5678 まで電話ください")
    assert proc.returncode == 0, proc.stderr
    assert "個人情報" in proc.stdout and "090-1234-5678" not in proc.stdout
    assert "〔電話番号〕" in proc.stdout
    assert "ご利用ありがとうございました" in proc.stdout


def test_ask_json_contract(indexed_settings, tmp_path):
    settings = indexed_settings()
    proc = _run(["ask", "特定地域づくり事業協同組合の認定は誰がしますか？", "--json", "--k", "3"],
                settings, tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert list(data) == ["question", "answer", "answered", "mode", "sources", "case_id"]
    assert data["answered"] is True and data["mode"] == "extractive"
    assert isinstance(data["case_id"], int)
    assert 1 <= len(data["sources"]) <= 3
    for i, src in enumerate(data["sources"], start=1):
        assert list(src) == ["n", "source", "title", "section", "page", "score", "text"]
        assert src["n"] == i and f"[{i}]" in data["answer"]
    # the programme's own section is cited first (its name is the section heading)
    assert "特定地域づくり事業協同組合" in data["sources"][0]["section"]
    assert "都道府県知事の認定" in data["sources"][0]["text"]


def test_ask_without_index_fails_politely(make_settings, tmp_path):
    proc = _run(["ask", "交付金について"], make_settings(), tmp_path)
    assert proc.returncode == 1
    assert "consult ingest" in proc.stderr and "Traceback" not in proc.stderr


CONVERSATION = ("地域おこし協力隊の任期後の定住に向けて、道の支援はありますか？\n"
                "その窓口は隊員本人も使えますか？\n"                     # follow-up (その)
                "明日の札幌の天気を教えてください\n"                     # out of scope mid-thread
                "話は変わりますが、ふるさと納税の研修会はありますか？\n")  # explicit switch


def test_console_chat_conversation_follow_up_switch_and_out_of_scope(indexed_settings, tmp_path):
    proc = _run(["chat"], indexed_settings(), tmp_path, stdin=CONVERSATION)
    assert proc.returncode == 0, proc.stderr
    first, follow_up, weather, switch = proc.stdout.split("質問> ")[1:]
    # what the answer is about comes first, then the quotes
    assert "『(3) 地域おこし協力隊へのサポート』に次の記載があります。" in first
    assert "ワンストップ窓口" in first
    # the follow-up stays on 協力隊: its first source is the programme's section
    assert "ワンストップ窓口" in follow_up
    assert "地域おこし協力隊" in follow_up.split("出典:")[1].split("\n")[1]
    # out of scope is declined whatever came before it
    assert "十分な記載が見つかりませんでした" in weather and "出典:" not in weather
    assert "担当職員にお伝えしました" in weather and "職員に相談する" not in weather
    # the switch starts afresh: ふるさと納税 first, nothing of 協力隊 quoted
    assert "研修会や相談会" in switch
    assert "ふるさと納税" in switch.split("出典:")[1].split("\n")[1]
    assert "協力隊" not in switch.split("出典:")[0]
