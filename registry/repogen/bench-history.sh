#!/usr/bin/env bash
# Measures the history walk against git itself on a generated repository:
#   1. git log --first-parent --raw --no-abbrev --no-renames -m, plus
#      git cat-file --batch of every changed blob (what any indexer must read);
#   2. a cold `personas export` (no snapshot cache);
#   3. a restart with the cache after one more commit.
# Usage: registry/repogen/bench-history.sh [PERSONAS] [COMMITS]   (default 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/../.."
personas=${1:-10000}
commits=${2:-100000}
repo=${BENCH_REPO:-${TMPDIR:-/tmp}/personas-bench-${personas}x${commits}.git}
go build -o bin/personas ./cmd/personas
if [ ! -f "$repo/refs/heads/main" ] && ! grep -q refs/heads/main "$repo/packed-refs" 2>/dev/null; then
  rm -rf "$repo"
  echo "generating $repo ($personas personas, $commits first-parent commits)…"
  go run ./registry/repogen/genrepo -personas "$personas" -commits "$commits" -seed 1 -out "$repo"
fi
secs() { local s=$1 e=$2; awk -v s="$s" -v e="$e" 'BEGIN{printf "%.2f", e-s}'; }
now() { date +%s.%N; }

echo "repository: $repo ($(du -sh "$repo" | cut -f1))"
t0=$(now)
git -C "$repo" log --first-parent --raw --no-abbrev --no-renames -m --format=%H main \
  | awk '/^:/ && $4 !~ /^0+$/ {print $4}' \
  | git -C "$repo" cat-file --batch > /dev/null
t1=$(now)
git_time=$(secs "$t0" "$t1")

rm -rf "$repo/personas-cache"
t0=$(now)
/usr/bin/time -f "%M" -o /tmp/personas-bench-rss ./bin/personas export --repo "$repo" > /dev/null
t1=$(now)
cold=$(secs "$t0" "$t1"); cold_rss=$(cat /tmp/personas-bench-rss)

# one more commit on top, then a restart that reads the cache
tree=$(git -C "$repo" rev-parse main^{tree})
new=$(git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit-tree "$tree" -p main -m "bench: empty commit")
git -C "$repo" update-ref refs/heads/main "$new"
t0=$(now)
/usr/bin/time -f "%M" -o /tmp/personas-bench-rss ./bin/personas export --repo "$repo" > /dev/null
t1=$(now)
warm=$(secs "$t0" "$t1"); warm_rss=$(cat /tmp/personas-bench-rss)

printf '\n%-58s %8s %10s\n' "step" "seconds" "peak RSS"
printf '%-58s %8s %10s\n' "git log --first-parent --raw -m + cat-file --batch" "$git_time" "-"
printf '%-58s %8s %8sMB\n' "personas export, cold (no cache)" "$cold" "$((cold_rss/1024))"
printf '%-58s %8s %8sMB\n' "personas export, restart with cache (+1 commit)" "$warm" "$((warm_rss/1024))"
awk -v c="$cold" -v g="$git_time" -v w="$warm" 'BEGIN{printf "\ncold / git = %.2fx (target ≤ 2x); restart / cold = %.2f (target < 0.25)\n", c/g, w/c}'
