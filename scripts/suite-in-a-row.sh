#!/usr/bin/env bash
# `scripts/suite-in-a-row.sh [RUNS] [COMMAND]`: clones this checkout's HEAD afresh, runs `npm ci`, then runs
# COMMAND (default `npm test`) RUNS times (default 10) in a row, stopping at the first failure. Every
# even-numbered run has one busy loop per core beside it, so half the runs are under CPU starvation.
# Prints one line per run (seconds, load, result) and keeps each run's output under the clone's .suite-runs/.
set -euo pipefail
runs="${1:-10}"
command="${2:-npm test}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
clone="$(mktemp -d /tmp/doorbell-suite-XXXXXX)"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false

git clone --quiet "$repo" "$clone"
cd "$clone"
echo "commit $(git rev-parse --short HEAD), clone $clone, $(nproc) cores, '$command' x $runs"
npm ci --no-audit --no-fund >/dev/null 2>&1
mkdir -p .suite-runs

busy=()
stop_busy() { for pid in "${busy[@]}"; do kill "$pid" 2>/dev/null || true; done; busy=(); }
trap stop_busy EXIT

for run in $(seq 1 "$runs"); do
  mode="quiet"
  if (( run % 2 == 0 )); then
    mode="busy"
    for _ in $(seq 1 "$(nproc)"); do node -e "for (;;) {}" & busy+=("$!"); done
  fi
  started=$(date +%s)
  if bash -c "$command" >".suite-runs/$run.log" 2>&1; then result="passed"; else result="FAILED"; fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  stop_busy
  echo "run $run ($mode): $result in $(( $(date +%s) - started )) s, load average $load at its end"
  if [[ "$result" != "passed" ]]; then
    echo "see $clone/.suite-runs/$run.log"
    exit 1
  fi
done
echo "all $runs runs passed"
