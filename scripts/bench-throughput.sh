#!/usr/bin/env bash
# Closed-loop throughput of single pages over loopback (issue 20): starts `dengji serve`
# (release) on a national demo database, signs in as the demo's province (`sheng`) and city
# (`shi`) clerks, and runs wrk (Debian package `wrk`) against each page in turn: as many
# requests as `connections` clients can make back to back for `seconds`. wrk runs on the same
# two cores as the server, as a load from a second process would.
#
#   bash scripts/bench-throughput.sh sqlite://big.db [key-file] [seconds] [connections] [binary]
set -euo pipefail
url=${1:?database URL}
key=${2:-}
seconds=${3:-20}
connections=${4:-32}
bin=${5:-target/release/dengji}
port=18091
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
args=(--database-url "$url")
[ -n "$key" ] && args+=(--key-file "$key")
log=$(mktemp)
"$bin" "${args[@]}" serve --listen 127.0.0.1:$port >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 300); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
cookie() {
  curl -fs -o /dev/null -D - -d "username=$1&password=Dengji2018" http://127.0.0.1:$port/login \
    | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(dengji_session=[^;]*\).*/\1/p'
}
sheng=$(cookie sheng)
shi=$(cookie shi)
[ -n "$sheng" ] && [ -n "$shi" ] || { echo "sign-in failed" >&2; exit 1; }
node() {
  curl -fs -H "Cookie: $1" http://127.0.0.1:$port/ | grep -o 'href="/orgs/[0-9]*"' | head -1 \
    | grep -o '[0-9]*'
}
province=$(node "$sheng")
city=$(node "$shi")
echo "server pid $pid; RSS after start: $(grep VmRSS /proc/$pid/status | tr -s ' ')"
run() {
  local label=$1 who=$2 path=$3
  local bytes
  bytes=$(curl -fs -H "Cookie: $who" "http://127.0.0.1:$port$path" | wc -c)
  local out
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Cookie: $who" \
    "http://127.0.0.1:$port$path")
  local rps p50 p99 errors
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  printf '%-34s %9s req/s  p50 %8s  p99 %8s  %7s bytes %s\n' "$label" "$rps" "$p50" "$p99" \
    "$bytes" "${errors:-0 errors}"
}
run "province 附件4 first page" "$sheng" "/orgs/$province/summary/a4"
run "province member list" "$sheng" "/members"
run "province member list, name 王" "$sheng" "/members?name=%E7%8E%8B"
run "city cockpit" "$shi" "/orgs/$city/cockpit"
run "city organisation page" "$shi" "/orgs/$city"
run "province node page" "$sheng" "/orgs/$province"
echo "memory at the end: $(grep -E 'VmRSS|VmHWM|RssAnon|RssFile' /proc/$pid/status | tr -s ' ' | tr '\n' ' ')"
