"""The YARA definition time: what makes ScanHive look for changed rule files again."""

from __future__ import annotations

import os
from pathlib import Path

from scanhive.config import Settings
from scanhive.engines.yara import YaraEngine
from scanhive.engines.yara_sources import ChangeMarker, save_sources


def test_marker_moves_when_a_rule_file_is_added_or_the_source_list_is_saved(tmp_path: Path) -> None:
    rules, data = tmp_path / "rules", tmp_path / "data"
    rules.mkdir()
    os.utime(rules, ns=(0, 0))  # as if long unchanged: a rule file added now gives a new mtime
    marker = ChangeMarker(data, [rules])
    unchanged = marker()
    assert marker() == unchanged
    (rules / "new.yar").write_text("rule New { condition: false }")
    added = marker()
    assert added != unchanged
    save_sources(data, {"local_sources": [], "http_sources": []})
    assert marker() != added


def test_definition_time_follows_a_new_rule_file_at_once(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "old.yar").write_text("rule Old { condition: false }")
    os.utime(rules / "old.yar", ns=(0, 0))
    os.utime(rules, ns=(0, 0))
    engine = YaraEngine(Settings(data_dir=tmp_path / "data", yara={"rule_dirs": [rules]}))
    before = engine.status().def_time
    (rules / "new.yar").write_text("rule New { condition: false }")
    after = engine.status().def_time
    assert before is not None and after is not None and after > before
