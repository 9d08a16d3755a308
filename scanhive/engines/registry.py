"""Finding the engines: every class registered under the `scanhive.engines` entry point group.

Third-party engines are Python packages that declare, in their pyproject.toml:

    [project.entry-points."scanhive.engines"]
    myengine = "my_package.module:MyEngine"
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from scanhive.config import Settings
from scanhive.engines.base import Engine
from scanhive.engines.isolation import IsolatedEngine

log = logging.getLogger(__name__)
GROUP = "scanhive.engines"


def engine_classes() -> list[type[Engine]]:
    """Installed engine classes, in entry point name order; broken plugins are logged and skipped."""
    classes = []
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        try:
            cls = point.load()
        except Exception:  # a broken third-party plugin must not stop the server
            log.exception("cannot load engine %s", point.value)
            continue
        classes.append(cls)
    return classes


def create_engines(settings: Settings, isolate: bool = False) -> list[Engine]:
    """One instance of every engine; `isolate` (for workers) runs native-code engines in host processes."""
    engines = [cls(settings) for cls in engine_classes()]
    return [IsolatedEngine(e) if isolate and e.isolated else e for e in engines]
