"""The deterministic corpus: a seeded mix of formats and sizes; the same seed gives the same bytes."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.formats import BUILDERS, text

MIN_SIZE = 1024
MAX_SIZE = 1024 * 1024
LARGE_KINDS = ("pe", "png", "zip")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class CorpusFile:
    name: str
    kind: str
    data: bytes


def _rng(seed: int, label: str) -> random.Random:
    """An RNG per file, so a file's bytes do not depend on the files made before it."""
    return random.Random(f"scanhive-bench:{seed}:{label}")


def build(index: int, seed: int) -> CorpusFile:
    """The corpus file at `index`: its kind by weight, its size log-uniform in [1 KiB, 1 MiB]."""
    rng = _rng(seed, str(index))
    kinds = list(BUILDERS)
    kind = rng.choices(kinds, weights=[BUILDERS[k][2] for k in kinds])[0]
    size = int(math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE))))
    extension, builder, _ = BUILDERS[kind]
    return CorpusFile(f"{index:05d}.{extension}", kind, builder(rng, size))


def build_large(index: int, size: int, seed: int) -> CorpusFile:
    """One of the few large files, of an incompressible-payload kind."""
    kind = LARGE_KINDS[index % len(LARGE_KINDS)]
    extension, builder, _ = BUILDERS[kind]
    return CorpusFile(f"large-{index:02d}.{extension}", kind, builder(_rng(seed, f"large-{index}"), size))


def generate(count: int, seed: int, large_sizes: Sequence[int] = ()) -> Iterator[CorpusFile]:
    """`count` mixed files, then one large file per entry of `large_sizes`."""
    for index in range(count):
        yield build(index, seed)
    for index, size in enumerate(large_sizes):
        yield build_large(index, size, seed)


def write(directory: Path, count: int, seed: int, large_sizes: Sequence[int] = ()) -> list[Path]:
    """Write the corpus into an empty (or new) directory; returns the paths in corpus order."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in generate(count, seed, large_sizes):
        path = directory / item.name
        path.write_bytes(item.data)
        paths.append(path)
    return paths


def small_texts(count: int, seed: int, size: int = MIN_SIZE) -> list[bytes]:
    """Distinct clean text files of exactly `size` bytes (the latency probe)."""
    return [text(_rng(seed, f"small-{index}"), size) for index in range(count)]


def stream(size: int, seed: int) -> Iterator[bytes]:
    """`size` deterministic bytes in 1 MiB chunks, without holding them: a seeded block, renumbered."""
    block = _rng(seed, "stream").randbytes(_CHUNK)
    for offset in range(0, size, _CHUNK):
        yield (offset.to_bytes(8, "little") + block[8:])[: size - offset]
