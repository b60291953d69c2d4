"""Console pages: one module per page, found automatically.

A page module defines ``router`` (a FastAPI ``APIRouter``) and, to appear in the navigation,
``NAV = NavEntry("集計", "/stats", order=30)``. Adding a page is adding a module here (and its
templates under ``bot/web/templates/``); nothing else changes, and the navigation never shows a
page that does not exist. Orders in use: 相談一覧 10, フィードバック 20, 集計 30, エクスポート 40,
資料 50, FAQ 60, 知識ギャップ 70.

Every route of a page that shows or changes data depends on ``bot.web.auth.require_staff``
(signed in, staff re-checked on every request) and every POST on ``bot.web.auth.staff_form``
(the same plus the CSRF token).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class NavEntry:
    label: str              # Japanese, shown in the navigation
    path: str               # where it leads
    order: int = 100        # position (smaller first)
    match: str | None = None  # path prefix that marks it active (default: path; "/" only itself)

    def active(self, path: str) -> bool:
        prefix = self.match or self.path
        if prefix == "/":
            return path == "/"
        return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def page_modules() -> list[ModuleType]:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "router"):
            modules.append(module)
    return modules


def nav_entries(modules: list[ModuleType]) -> list[NavEntry]:
    entries = [m.NAV for m in modules if isinstance(getattr(m, "NAV", None), NavEntry)]
    return sorted(entries, key=lambda e: (e.order, e.label))
