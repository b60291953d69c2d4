"""A rich progress bar on a terminal (stderr), nothing otherwise."""

from __future__ import annotations

import sys


class Progress:
    def __init__(self, *, enabled: bool, total: int):
        self._bar = None
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("取り込み中"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.description}"), console=Console(stderr=True), transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("", total=total)
            self._started = False

    def advance(self, label: str) -> None:
        if self._bar is None:
            return
        if self._started:
            self._bar.advance(self._task)
        self._started = True
        self._bar.update(self._task, description=label[-50:])

    def close(self) -> None:
        if self._bar is not None:
            if self._started:
                self._bar.advance(self._task)
            self._bar.stop()
            self._bar = None
