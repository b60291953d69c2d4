"""The CLI's edge: whatever goes wrong in a command ends as ONE Japanese line on stderr and exit
code 1 — never a traceback (`bot.cli.errors`). Run through the real console-script entry
(`bot.cli.main`), and once as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no developer .env
    monkeypatch.setenv("CONSULT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path


def consult(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    return done.value.code, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if not line[:4].isdigit()]  # log lines aside
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_case_number_beyond_64_bits_is_not_found(env, capsys):
    for command in (["cases", "show"], ["cases", "resolve"], ["cases", "note"]):
        args = command + ["99999999999999999999999"] + (["メモ"] if command[-1] == "note" else [])
        code, _, err = consult(capsys, *args)
        assert code == 1 and "相談#99999999999999999999999 は見つかりませんでした" in one_line(err)


def test_export_to_places_it_cannot_write(env, capsys):
    folder = env / "out"
    folder.mkdir()
    code, _, err = consult(capsys, "cases", "export", "-o", str(folder))
    assert code == 1 and "フォルダが指定されています" in one_line(err)
    code, _, err = consult(capsys, "cases", "export", "-o", "/dev/full")
    assert code == 1 and "空き容量がありません" in one_line(err)
    (env / "afile").write_text("x", encoding="utf-8")
    code, _, err = consult(capsys, "cases", "export", "-o", str(env / "afile" / "missing" / "x.csv"))
    assert code == 1 and one_line(err).startswith("エラー:")
    # an ordinary missing folder is created, as before
    code, _, err = consult(capsys, "cases", "export", "-o", str(env / "new" / "cases.csv"))
    assert code == 0 and (env / "new" / "cases.csv").exists()


def test_eval_on_a_binary_file_or_a_folder(env, capsys):
    binary = env / "qa.jsonl"
    binary.write_bytes(bytes(range(256)) * 8)
    code, _, err = consult(capsys, "eval", str(binary))
    assert code == 1 and "文字として読めませんでした" in one_line(err)
    code, _, err = consult(capsys, "eval", str(env))
    assert code == 1 and one_line(err).startswith("エラー:")


def test_bad_settings_and_paths(env, capsys, monkeypatch):
    fifo = env / "pipe.txt"
    os.mkfifo(fifo)
    code, _, err = consult(capsys, "ingest", str(fifo))
    assert code == 1 and "フォルダか通常のファイル" in one_line(err)
    monkeypatch.setenv("DATABASE_URL", "garbage://")
    code, _, err = consult(capsys, "cases", "list")
    assert code == 1 and "DATABASE_URL" in one_line(err)


def test_a_real_process_prints_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSULT_", "DATABASE_URL"))}
    env["CONSULT_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run([sys.executable, "-m", "bot", "cases", "export", "-o", "/dev/full"],
                          cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1 and "空き容量がありません" in one_line(done.stderr)
