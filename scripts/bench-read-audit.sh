#!/usr/bin/env bash
# Server time of the province member list and of a member page, over HTTP on loopback, for
# comparing two builds on copies of one database (issue 17: the read audit's overhead).
# Each request's time is curl's time_total (connect + server + transfer on 127.0.0.1); the
# pages alternate so that both see the same machine noise.
#
#   bash scripts/bench-read-audit.sh BINARY sqlite://copy.db [key-file] [rounds]
set -euo pipefail
bin=${1:?binary}
url=${2:?database URL}
key=${3:-}
rounds=${4:-200}
port=18090
args=(--database-url "$url")
[ -n "$key" ] && args+=(--key-file "$key")
log=$(mktemp)
"$bin" "${args[@]}" serve --listen 127.0.0.1:$port >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
jar=$(mktemp)
curl -fs -c "$jar" -d 'username=sheng&password=Dengji2018' http://127.0.0.1:$port/login >/dev/null
member=$(curl -fs -b "$jar" "http://127.0.0.1:$port/members" | grep -o 'href="/members/[0-9]*"' | head -1 | grep -o '[0-9]*')
list="/members?name=%E7%8E%8B&sort=name"
one="/members/$member"
t_list=$(mktemp); t_one=$(mktemp)
for i in $(seq 1 $((rounds + 5))); do
  a=$(curl -fs -b "$jar" -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port$list")
  b=$(curl -fs -b "$jar" -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port$one")
  # The first five of each are warm-up.
  if [ "$i" -gt 5 ]; then echo "$a" >>"$t_list"; echo "$b" >>"$t_one"; fi
done
report() {
  sort -g "$2" | awk -v label="$1" '{ v[NR] = $1 * 1000 } END {
    printf "%-44s n=%d  median %.2f ms  p95 %.2f ms\n", label, NR, v[int((NR + 1) / 2)], v[int(NR * 0.95)] }'
}
report "province member list (name contains 王)" "$t_list"
report "member page /members/$member" "$t_one"
# The server's own time of each request (its request log: route pattern and ms), without
# curl and the loopback; the warm-up requests are left out the same way.
server() {
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -a "route=$2 " | grep -ao 'ms=[0-9.]*' | cut -d= -f2 | tail -n "$rounds" | sort -g |
    awk -v label="$1" '{ v[NR] = $1 } END {
      printf "%-44s n=%d  median %.2f ms  p95 %.2f ms  (server)\n", label, NR, v[int((NR + 1) / 2)], v[int(NR * 0.95)] }'
}
server "province member list (name contains 王)" "/members"
server "member page" "/members/{id}"
