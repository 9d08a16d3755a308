"""ScanHive's benchmark suite: `python -m bench.run [--quick] [--out bench/out]`."""
