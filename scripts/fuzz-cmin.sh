#!/usr/bin/env bash
# Reduce each fuzz target's corpus to what is worth committing: the named seeds (hand-*,
# export-*, crash-*) and, of the inputs the fuzzer kept, those under 8 KB that add coverage
# to the seeds (libFuzzer's -set_cover_merge=1 into a fresh directory holding the named files
# first). The larger inputs found while fuzzing cover ~20 % more edges of the spreadsheet
# reader but weigh ten times as much; a fuzzing session rebuilds them in minutes. Needs the
# targets built (cargo +nightly fuzz build -O). Usage: scripts/fuzz-cmin.sh [TARGET…]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
bin=target/x86_64-unknown-linux-gnu/release
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sheet import_check ids form_values login_next)
for t in "${targets[@]}"; do
  found="$(mktemp -d)"
  out="$(mktemp -d "corpus/.$t.XXXX")"
  find "corpus/$t" -maxdepth 1 -type f \( -name 'hand-*' -o -name 'export-*' -o -name 'crash-*' \) \
    -exec cp {} "$out/" \;
  find "corpus/$t" -maxdepth 1 -type f ! -name 'hand-*' ! -name 'export-*' ! -name 'crash-*' \
    -size -8k -exec cp {} "$found/" \;
  "$bin/$t" -set_cover_merge=1 -rss_limit_mb=4096 -timeout=60 "$out" "$found" 2>&1 \
    | grep -E "MERGE-OUTER: [0-9]+ new files" || true
  rm -rf "$found"
  chmod 755 "$out"
  rm -rf "corpus/$t"
  mv "$out" "corpus/$t"
  echo "$t: $(find "corpus/$t" -type f | wc -l) files, $(du -sh --apparent-size "corpus/$t" | cut -f1)"
done
