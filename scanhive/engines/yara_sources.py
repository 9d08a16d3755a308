"""YARA rule sources managed through the API: local directories and HTTP packages.

The source list lives in `<data_dir>/yara/sources.json`; HTTP packages (a .yar file or a zip of
them) are downloaded into `<data_dir>/yara/http/<hash>/`. Each source is compiled on its own
first, so one that does not compile is reported with the reason and left out while the others
are used.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import httpx
import yara

BUNDLED_RULES_DIR = Path(__file__).parent / "yara_rules"
RULE_SUFFIXES = (".yar", ".yara")
MAX_PACKAGE_BYTES = 64 * 1024 * 1024
ENABLED, DISABLED = "enabled", "disabled"


@dataclass
class CompiledSources:
    """The rule files that compiled, and the problems of those that did not (source -> messages)."""

    files: dict[str, str] = field(default_factory=dict)
    issues: dict[str, list[str]] = field(default_factory=dict)


def _root(data_dir: Path) -> Path:
    return data_dir / "yara"


def sources_file(data_dir: Path) -> Path:
    return _root(data_dir) / "sources.json"


def load_sources(data_dir: Path) -> dict[str, list[dict[str, str]]]:
    try:
        stored = json.loads(sources_file(data_dir).read_text())
    except (OSError, ValueError):
        stored = {}
    return {"local_sources": stored.get("local_sources", []), "http_sources": stored.get("http_sources", [])}


def save_sources(data_dir: Path, sources: dict[str, list[dict[str, str]]]) -> None:
    """Write the list atomically; its new mtime tells every worker to recompile."""
    target = sources_file(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(sources, sort_keys=True))
    os.replace(temporary, target)


def package_dir(data_dir: Path, url: str) -> Path:
    return _root(data_dir) / "http" / hashlib.sha256(url.encode()).hexdigest()[:24]


def download(data_dir: Path, url: str, timeout: float = 30.0) -> None:
    """Fetch an HTTP source into its package directory: a rule file, or a zip whose rule files are kept."""
    with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
        response.raise_for_status()
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_PACKAGE_BYTES:
                raise ValueError(f"package larger than {MAX_PACKAGE_BYTES} bytes")
    target = package_dir(data_dir, url)
    target.mkdir(parents=True, exist_ok=True)
    for old in target.iterdir():
        old.unlink()
    if zipfile.is_zipfile(io.BytesIO(body)):
        with zipfile.ZipFile(io.BytesIO(body)) as package:
            for index, member in enumerate(package.infolist()):
                name = PurePosixPath(member.filename).name  # flattened: no path from the package is used
                if name.endswith(RULE_SUFFIXES) and member.file_size <= MAX_PACKAGE_BYTES:
                    (target / f"{index}-{name}").write_bytes(package.read(member))
    else:
        (target / "package.yar").write_bytes(bytes(body))


def _rule_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())


def source_dirs(data_dir: Path, rule_dirs: list[Path]) -> list[tuple[str, Path]]:
    """(source name, directory) of the bundled rules, configured dirs and enabled API sources."""
    sources = load_sources(data_dir)
    named: list[tuple[str, Path]] = [("bundled", BUNDLED_RULES_DIR), *((str(d), d) for d in rule_dirs)]
    named += [(s["source"], Path(s["source"])) for s in sources["local_sources"] if s.get("state") == ENABLED]
    named += [(s["source"], package_dir(data_dir, s["source"])) for s in sources["http_sources"] if s.get("state") == ENABLED]
    return named


def newest_change(data_dir: Path, rule_dirs: list[Path]) -> float:
    """When a rule file or the source list last changed (the engine's definition time)."""
    times = [p.stat().st_mtime for _, d in source_dirs(data_dir, rule_dirs) for p in _rule_files(d)]
    if sources_file(data_dir).exists():
        times.append(sources_file(data_dir).stat().st_mtime)
    return max(times, default=0.0)


def _mtime_ns(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


class ChangeMarker:
    """A cheap stand-in for newest_change: the mtimes of the source list and the source directories.

    It moves when the list changes or a rule file is added to, removed from or renamed in a source
    directory, not when a rule file is edited in place or changes in a subdirectory.
    """

    def __init__(self, data_dir: Path, rule_dirs: list[Path]) -> None:
        self._data_dir = data_dir
        self._rule_dirs = rule_dirs
        self._sources = str(sources_file(data_dir))
        self._directories: tuple[int, list[str]] | None = None  # (source list mtime, directories)

    def __call__(self) -> tuple[int, ...]:
        listed = _mtime_ns(self._sources)
        if self._directories is None or self._directories[0] != listed:  # read the list only when it changed
            self._directories = (listed, [str(d) for _, d in source_dirs(self._data_dir, self._rule_dirs)])
        return (listed, *map(_mtime_ns, self._directories[1]))


def compile_sources(data_dir: Path, rule_dirs: list[Path]) -> CompiledSources:
    """Compile each source on its own; keep the files of those that compile."""
    compiled = CompiledSources()
    for index, (source, directory) in enumerate(source_dirs(data_dir, rule_dirs)):
        files = {f"s{index}:{path.relative_to(directory)}": str(path) for path in _rule_files(directory)}
        if not directory.is_dir():
            compiled.issues[source] = [f"source not found: {directory}"]
            continue
        try:
            yara.compile(filepaths=files)
        except yara.Error as exc:
            compiled.issues[source] = [str(exc)]
            continue
        compiled.files.update(files)
    return compiled
