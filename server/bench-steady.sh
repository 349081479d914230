#!/usr/bin/env bash
# Steady under load (issue 18): a cold `personas serve` on the generated
# 10,000-persona / 100,000-commit repository (no snapshot cache), never-
# repeated searches from 4 connections starting the moment /readyz is 200:
# p99 per second for the first 20 s, RSS at ready and after 50,000 distinct
# searches, then a force-push and the same figures during the rebuild.
# Usage: server/bench-steady.sh [PERSONAS] [COMMITS]   (default 10000 100000)
# PERSONAS_BENCH_REWRITE=0 skips the force-push. Searches are sent at PERSONAS_BENCH_RATE a second (default 1000, about half of
# what 2 cores answer; 0: as fast as answers come, which leaves a rebuild only
# its low-priority share). PERSONAS_BENCH_RECURRING=N makes every other query one of N
# recurring ones (they fill the response cache). Extra serve flags: PERSONAS_BENCH_FLAGS="--memory-limit 600MiB".
# PERSONAS_BIN=/path/to/personas measures that build (an earlier commit's, say) instead of this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
personas=${1:-10000}
commits=${2:-100000}
repo=${BENCH_REPO:-${TMPDIR:-/tmp}/personas-bench-${personas}x${commits}.git}
bin=${PERSONAS_BIN:-bin/personas}
[ -n "${PERSONAS_BIN:-}" ] || go build -o bin/personas ./cmd/personas
go build -o bin/loadgen ./server/loadgen
if [ ! -f "$repo/refs/heads/main" ] && ! grep -q refs/heads/main "$repo/packed-refs" 2>/dev/null; then
  rm -rf "$repo"
  echo "generating $repo ($personas personas, $commits first-parent commits)…"
  go run ./registry/repogen/genrepo -personas "$personas" -commits "$commits" -seed 1 -out "$repo"
fi
# undo an earlier run's force-push: the generated history ends at the first line of the log
orig=$(cat "$repo/personas-bench-head" 2>/dev/null || git -C "$repo" rev-parse main)
echo "$orig" > "$repo/personas-bench-head"
git -C "$repo" update-ref refs/heads/main "$orig"
rm -rf "$repo/personas-cache"
port=${PERSONAS_BENCH_PORT:-18418}
log=$(mktemp)
# shellcheck disable=SC2086
"$bin" serve --repo "$repo" --addr "127.0.0.1:$port" --poll-interval 1s ${PERSONAS_BENCH_FLAGS:-} 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
rewrite=""
[ "${PERSONAS_BENCH_REWRITE:-1}" = 0 ] || rewrite="git -C '$repo' update-ref refs/heads/main \$(git -C '$repo' -c user.name=bench -c user.email=bench@example.com commit-tree main^{tree} -p main~1 -m 'bench: rewritten head')"
./bin/loadgen -wait 60m -url "http://127.0.0.1:$port" -pid "$pid" -c 4 -rate "${PERSONAS_BENCH_RATE:-1000}" -seconds 20 -queries 50000 \
  -recurring "${PERSONAS_BENCH_RECURRING:-0}" -rewrite "$rewrite"
echo
grep -E 'indexed|snapshot cache|settled' "$log" | cut -c1-220 || true
