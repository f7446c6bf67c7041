#!/usr/bin/env bash
# Archive benchmark: MAM pages, full-text search and export on an archive of
# 1,000,000 messages in 100 rooms (generated on the first run, ~90 s, reused after).
set -euo pipefail
cd "$(dirname "$0")/.."
database=${ARCHIVE_BENCH_DB:-/tmp/parley-bench/archive-1m.sqlite}
mkdir -p "$(dirname "$database")"
swift build -c release --product archive-bench >/dev/null
.build/release/archive-bench "$database" "${MESSAGES:-1000000}" "${ROOMS:-100}"
