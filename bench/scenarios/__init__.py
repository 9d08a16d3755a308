"""The benchmark scenarios of issue 6; each `run` returns one JSON-ready row."""
