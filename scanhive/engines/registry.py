"""Finding the engines: every class registered under the `scanhive.engines` entry point group.

Third-party engines are Python packages that declare, in their pyproject.toml:

    [project.entry-points."scanhive.engines"]
    myengine = "my_package.module:MyEngine"
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import entry_points

from scanhive.config import RuleSettings, Settings
from scanhive.engines.base import Engine, EngineStatus
from scanhive.engines.isolation import IsolatedEngine
from scanhive.store.engine_switches import Switches

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


def runs(rule: RuleSettings, engine: Engine, switches: Mapping[str, Switches], status: EngineStatus) -> bool:
    """Whether a scan under `rule` runs `engine` now: named by the rule, switched on and usable."""
    wanted = rule.engines
    named = "*" in wanted or engine.eng_id in wanted or engine.eng_name in wanted
    return named and switches.get(engine.eng_id, Switches()).enabled and status.usable
