#!/usr/bin/env bash
# One run of the deadline-week load scenario (issue 20 item 1) against `dengji serve` on an
# existing national demo database, with the server's memory before, after warm-up and at the
# end. The figures go to BENCHMARKS.md.
#
#   scripts/load/run.sh DATABASE_URL USERS DURATION OUT [SERVERS] [REPLICA_URL]
#
# e.g. scripts/load/run.sh sqlite://load.db 200 10m load-sqlite
#      scripts/load/run.sh postgres://dengji:dengji@127.0.0.1/dengji_bench20 200 10m load-pg 2
#
# Relative paths are taken from the repository root (the script runs there).
#
# Distinct accounts: run `dengji bench --load-accounts 100 --load-accounts-file OUT.accounts.json`
# on the database first (this script does it when the file is missing). SERVERS (default 1)
# identical servers listen on 127.0.0.1:18101… and locust spreads its users over them;
# REPLICA_URL is passed to every server as --replica-url. Needs `locust` (pip install
# locust==2.47.0) and a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/../.."

url=$1 users=$2 duration=$3 out=$4 servers=${5:-1} replica=${6:-}
bin=target/release/dengji
key_args=()
if [ -n "${DENGJI_KEY_FILE:-}" ]; then key_args=(--key-file "$DENGJI_KEY_FILE"); fi
accounts="$out.accounts.json"
if [ ! -f "$accounts" ]; then
  "$bin" --database-url "$url" "${key_args[@]}" bench --load-accounts 100 --load-accounts-file "$accounts"
fi

pids=()
hosts=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT
for i in $(seq 1 "$servers"); do
  port=$((18100 + i))
  replica_args=()
  if [ -n "$replica" ]; then replica_args=(--replica-url "$replica"); fi
  DENGJI_LOG="${DENGJI_LOG:-warn}" "$bin" --database-url "$url" "${key_args[@]}" serve --listen "127.0.0.1:$port" \
    "${replica_args[@]}" > "$out.server$i.log" 2>&1 &
  pids+=($!)
  hosts+=("http://127.0.0.1:$port")
done
for h in "${hosts[@]}"; do
  for _ in $(seq 1 120); do curl -fs "$h/healthz" >/dev/null && break; sleep 0.5; done
done

# Resident memory per server, heap (RssAnon) apart from mapped database pages (RssFile: SQLite's
# mmap, reclaimable file cache).
rss() {
  for p in "${pids[@]}"; do
    awk '/^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {printf "anon=%dkB file=%dkB", a, f}' "/proc/$p/status"
    echo
  done | paste -sd' '
}
echo "rss_start: $(rss)" | tee "$out.rss"
(
  sleep 120
  echo "rss_after_warmup(2m): $(rss)" | tee -a "$out.rss"
) &
watcher=$!

# One locust process per server (users split evenly), so a round-robin balancer's spread is
# what the servers see.
per=$((users / servers))
lpids=()
for i in "${!hosts[@]}"; do
  DENGJI_LOAD_ACCOUNTS="$accounts" DENGJI_LOAD_SHARD="$i/$servers" locust -f scripts/load/locustfile.py --headless \
    -u "$per" -r 10 -t "$duration" --host "${hosts[$i]}" --csv "$out.s$((i + 1))" \
    --only-summary > "$out.s$((i + 1)).locust.log" 2>&1 &
  lpids+=($!)
done
for p in "${lpids[@]}"; do wait "$p" || true; done
wait "$watcher" 2>/dev/null || true
echo "rss_end: $(rss)" | tee -a "$out.rss"
for i in "${!hosts[@]}"; do
  echo "== server $((i + 1)): $out.s$((i + 1))_stats.csv"
  column -s, -t < "$out.s$((i + 1))_stats.csv" | cut -c1-200
done
