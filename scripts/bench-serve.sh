#!/usr/bin/env bash
# Resident memory of `dengji serve` while it serves a national database: starts the release
# binary on the given database, signs in as the national administrator and a provincial clerk,
# requests the benchmark pages repeatedly, and prints VmRSS / VmHWM from /proc.
#
#   bash scripts/bench-serve.sh sqlite://big.db [big.db.key] [rounds]
set -euo pipefail
url=${1:?database URL}
key=${2:-}
rounds=${3:-50}
bin=target/release/dengji
port=18089
args=(--database-url "$url")
[ -n "$key" ] && args+=(--key-file "$key")
"$bin" "${args[@]}" serve --listen 127.0.0.1:$port >"$(mktemp)" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
jar_a=$(mktemp); jar_s=$(mktemp)
curl -fs -c "$jar_a" -d 'username=admin&password=Dengji2018' http://127.0.0.1:$port/login >/dev/null
curl -fs -c "$jar_s" -d 'username=sheng&password=Dengji2018' http://127.0.0.1:$port/login >/dev/null
province=$(curl -fs -b "$jar_s" http://127.0.0.1:$port/ | grep -o 'href="/orgs/[0-9]*"' | head -1 | grep -o '[0-9]*')
echo "RSS after start: $(grep VmRSS /proc/$pid/status)"
start=$(date +%s.%N)
n=0
for _ in $(seq 1 "$rounds"); do
  for path in "/members?name=%E7%8E%8B&sort=name" "/members" "/orgs/1/children" "/" "/orgs" "/firms"; do
    curl -fs -b "$jar_a" -o /dev/null "http://127.0.0.1:$port$path"; n=$((n + 1))
  done
  for path in "/members?name=%E7%8E%8B&sort=name" "/members?page=50" "/orgs/$province" "/orgs/$province/children"; do
    curl -fs -b "$jar_s" -o /dev/null "http://127.0.0.1:$port$path"; n=$((n + 1))
  done
done
end=$(date +%s.%N)
echo "$n requests in $(echo "$end - $start" | bc) s"
grep -E 'VmRSS|VmHWM' /proc/$pid/status
