#!/usr/bin/env bash
# Sets ScanHive up (first run only) and starts the server on http://127.0.0.1:8008.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/scanhive serve "$@"
