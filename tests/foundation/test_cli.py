"""The `consult` command line: every command has --help; doctor reports readably."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


def _command_paths(group, prefix=()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        yield path
        if getattr(command, "commands", None):
            yield from _command_paths(command, path)


def test_every_command_has_help():
    root = typer.main.get_command(app)
    paths = list(_command_paths(root))
    names = {" ".join(p) for p in paths}
    # The public commands the issues promise.
    for expected in ("run", "doctor", "ask", "chat", "eval", "ingest", "index stats", "serve",
                     "cases list", "cases show", "cases assign", "cases note", "cases resolve",
                     "cases export", "cases stats", "db upgrade"):
        assert expected in names, f"missing command: {expected}"
    for path in [(), *paths]:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_doctor_without_configuration_says_what_is_missing(make_settings, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSULT_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, ["doctor"])
    out = result.output
    assert result.exit_code == 1, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert any(line.startswith("✓ データディレクトリ") for line in lines), out
    assert any(line.startswith("✗ 索引") and "consult ingest" in line for line in lines), out
    assert any(line.startswith("– LLM") for line in lines), out
    assert any(line.startswith("– Slack") and "SLACK_BOT_TOKEN" in line for line in lines), out
    assert "Traceback" not in out
