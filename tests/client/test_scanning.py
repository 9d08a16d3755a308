"""Finding files for `scanhive scan`: recursion and include/exclude globs."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanhive.client.scanning import collect_files


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A folder with nested files, including a .git folder."""
    for name in ("a.exe", "b.txt", "sub/c.exe", "sub/deeper/d.pdf", "sub/deeper/e.txt", ".git/config", "logs/x.log"):
        path = tmp_path / "root" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    return tmp_path / "root"


def _names(paths: list[Path], root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in paths]


def test_folders_are_walked_recursively_files_first_in_name_order(tree: Path) -> None:
    assert _names(collect_files([tree], [], []), tree) == [
        "a.exe", "b.txt", ".git/config", "logs/x.log", "sub/c.exe", "sub/deeper/d.pdf", "sub/deeper/e.txt",
    ]


def test_include_matches_names_and_relative_paths(tree: Path) -> None:
    found = collect_files([tree], ["*.exe", "sub/deeper/*.pdf"], [])
    assert _names(found, tree) == ["a.exe", "sub/c.exe", "sub/deeper/d.pdf"]


def test_exclude_drops_files_and_prunes_folders(tree: Path) -> None:
    found = collect_files([tree], [], [".git", "logs", "*.txt"])
    assert _names(found, tree) == ["a.exe", "sub/c.exe", "sub/deeper/d.pdf"]
    assert _names(collect_files([tree], ["*.txt"], ["sub/deeper"]), tree) == ["b.txt"]


def test_named_files_are_kept_once_and_filtered_too(tree: Path) -> None:
    files = collect_files([tree / "a.exe", tree / "b.txt", tree / "a.exe"], [], ["*.txt"])
    assert files == [tree / "a.exe"]
