#!/usr/bin/env bash
# Measures the history walk against git itself on generated repositories, the
# two alternated round by round in one run so that a busy machine slows both:
#   - C git: git log --first-parent --raw --no-abbrev --no-renames -m, plus
#     git cat-file --batch of every changed blob (what any indexer must read);
#   - ours: a cold `personas export` (no snapshot cache);
#   - a restart with the cache after one more commit.
# Seconds are the median of the rounds; peak RSS (GNU time's %M, the
# "Maximum resident set size" of time -v) the largest of them.
# Usage: registry/repogen/bench-history.sh [PERSONASxCOMMITS …]
#   (default: 2000x20000 10000x100000; BENCH_ROUNDS=3; BENCH_REPO=dir measures
#   that repository instead, with the sizes ignored; BENCH_BASELINE=path/to/personas
#   also runs that binary, e.g. one built from an earlier commit, in every
#   round, cold and restart, and prints its rows beside ours)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${BENCH_ROUNDS:-3}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(2000x20000 10000x100000)
[ -z "${BENCH_REPO:-}" ] || sizes=(custom)
go build -o bin/personas ./cmd/personas
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# timed NAME CMD…: runs CMD under GNU time, appends "seconds kB" to $tmp/NAME
timed() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/one" "$@" > /dev/null
  cat "$tmp/one" >> "$tmp/$name"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
maxof() { sort -n | tail -1; }

rows=()
for size in "${sizes[@]}"; do
  if [ "$size" = custom ]; then
    repo=$BENCH_REPO; label=$(basename "$repo")
  else
    personas=${size%x*}; commits=${size#*x}
    repo=${TMPDIR:-/tmp}/personas-bench-${personas}x${commits}.git
    label="$personas personas × $commits commits"
    if [ ! -f "$repo/refs/heads/main" ] && ! grep -q refs/heads/main "$repo/packed-refs" 2>/dev/null; then
      rm -rf "$repo"
      echo "generating $repo…" >&2
      go run ./registry/repogen/genrepo -personas "$personas" -commits "$commits" -seed 1 -out "$repo" >&2
    fi
  fi
  # server/bench-steady.sh leaves main force-pushed; its first run wrote the generated head here
  [ ! -f "$repo/personas-bench-head" ] || git -C "$repo" update-ref refs/heads/main "$(cat "$repo/personas-bench-head")"
  echo "$label: $repo ($(du -sh "$repo" | cut -f1)), $rounds rounds" >&2
  rm -f "$tmp"/git "$tmp"/cold "$tmp"/warm "$tmp"/bcold "$tmp"/bwarm
  main=$(git -C "$repo" rev-parse main)
  for i in $(seq "$rounds"); do
    timed git bash -c "git -C '$repo' log --first-parent --raw --no-abbrev --no-renames -m --format=%H main \
      | awk '/^:/ && \$4 !~ /^0+\$/ {print \$4}' | git -C '$repo' cat-file --batch"
    rm -rf "$repo/personas-cache"
    timed cold ./bin/personas export --repo "$repo"
    # one more commit on top, then a restart that reads the cache
    tree=$(git -C "$repo" rev-parse "$main^{tree}")
    new=$(git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit-tree "$tree" -p "$main" -m "bench: empty commit")
    git -C "$repo" update-ref refs/heads/main "$new"
    timed warm ./bin/personas export --repo "$repo"
    git -C "$repo" update-ref refs/heads/main "$main"
    if [ -n "${BENCH_BASELINE:-}" ]; then
      rm -rf "$repo/personas-cache"
      timed bcold "$BENCH_BASELINE" export --repo "$repo"
      git -C "$repo" update-ref refs/heads/main "$new"
      timed bwarm "$BENCH_BASELINE" export --repo "$repo"
      git -C "$repo" update-ref refs/heads/main "$main"
      echo "  round $i: baseline cold $(cut -d' ' -f1 < <(tail -1 "$tmp/bcold")) s, restart $(cut -d' ' -f1 < <(tail -1 "$tmp/bwarm")) s" >&2
    fi
    echo "  round $i: git $(cut -d' ' -f1 < <(tail -1 "$tmp/git")) s, cold $(cut -d' ' -f1 < <(tail -1 "$tmp/cold")) s, restart $(cut -d' ' -f1 < <(tail -1 "$tmp/warm")) s" >&2
  done
  git_s=$(cut -d' ' -f1 "$tmp/git" | median); git_kb=$(cut -d' ' -f2 "$tmp/git" | maxof)
  cold_s=$(cut -d' ' -f1 "$tmp/cold" | median); cold_kb=$(cut -d' ' -f2 "$tmp/cold" | maxof)
  warm_s=$(cut -d' ' -f1 "$tmp/warm" | median); warm_kb=$(cut -d' ' -f2 "$tmp/warm" | maxof)
  rows+=("$(printf '| cold `personas export`, %s | %s s, peak RSS %d MB | %s s, peak RSS %d MB | **%s×** |' \
    "$label" "$cold_s" $((cold_kb/1024)) "$git_s" $((git_kb/1024)) "$(awk -v a="$cold_s" -v b="$git_s" 'BEGIN{printf "%.2f", a/b}')")")
  rows+=("$(printf '| restart with the cache (+1 commit), %s | %s s, peak RSS %d MB | — | %s× cold |' \
    "$label" "$warm_s" $((warm_kb/1024)) "$(awk -v a="$warm_s" -v b="$cold_s" 'BEGIN{printf "%.2f", a/b}')")")
  if [ -n "${BENCH_BASELINE:-}" ]; then
    bc_s=$(cut -d' ' -f1 "$tmp/bcold" | median); bc_kb=$(cut -d' ' -f2 "$tmp/bcold" | maxof)
    bw_s=$(cut -d' ' -f1 "$tmp/bwarm" | median); bw_kb=$(cut -d' ' -f2 "$tmp/bwarm" | maxof)
    rows+=("$(printf '| baseline: cold export, %s | %s s, peak RSS %d MB | %s s | **%s×** |' \
      "$label" "$bc_s" $((bc_kb/1024)) "$git_s" "$(awk -v a="$bc_s" -v b="$git_s" 'BEGIN{printf "%.2f", a/b}')")")
    rows+=("$(printf '| baseline: restart (+1 commit), %s | %s s, peak RSS %d MB | — | %s× its cold |' \
      "$label" "$bw_s" $((bw_kb/1024)) "$(awk -v a="$bw_s" -v b="$bc_s" 'BEGIN{printf "%.2f", a/b}')")")
  fi
done
echo
echo "| work | ours | C git (log --raw + cat-file --batch) | ratio |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
