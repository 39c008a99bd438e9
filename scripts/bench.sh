#!/usr/bin/env bash
# Whole-program figures for BENCHMARKS.md: a full `backstory build` of
# generated corpora (1,000 and 10,000 records over 50 repositories) against a
# plain Hugo build of the same pages in the same run (the floor), and a
# preview rebuild after one record changed. Each figure is the median of
# RUNS runs, floor and build alternating so drift hits both alike.
#
#   scripts/bench.sh                 # RUNS=3 SIZES="1000 10000"
#   RUNS=5 SIZES=10000 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SIZES=${SIZES:-"1000 10000"}
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/backstory-bench}
TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then
  echo "bench: $TIME is missing (apt-get install time)" >&2
  exit 1
fi
mkdir -p "$WORK/bin"
go build -o "$WORK/bin/backstory" ./cmd/backstory
go build -o "$WORK/bin/benchcmd" ./site/internal/benchcmd

# median prints the middle of its numeric arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# measure runs a command under /usr/bin/time and prints "wall_s peak_MB".
measure() {
  "$TIME" -f '%e %M' -o "$WORK/time.out" "$@" >"$WORK/cmd.out" 2>&1 || { cat "$WORK/cmd.out" >&2; return 1; }
  awk '{printf "%s %.0f\n", $1, $2/1024}' "$WORK/time.out"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%d)   go: $(go env GOVERSION)   runs: $RUNS (median)"
echo
echo "| records | plain Hugo wall | backstory build wall | ratio | plain Hugo peak | backstory peak | ratio | rebuild after one change |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in $SIZES; do
  corpus="$WORK/corpus-$n"
  if [ ! -d "$corpus" ]; then
    "$WORK/bin/benchcmd" -gen "$corpus" -records "$n" -repos 50
  fi
  [ -d "$corpus.floor" ] || "$WORK/bin/benchcmd" -mode floor-project -corpus "$corpus"
  args=()
  for d in "$corpus"/*/; do args+=("bench/$(basename "$d")=$d"); done
  fw=() fm=() bw=() bm=()
  for _ in $(seq "$RUNS"); do
    # Both build into a folder that does not exist yet, as a clean CI
    # build does; removing the last output is not part of either figure.
    rm -rf "$WORK/floor-out" "$WORK/site-out"
    read -r w m < <(measure "$WORK/bin/benchcmd" -mode floor -corpus "$corpus" -o "$WORK/floor-out")
    fw+=("$w") fm+=("$m")
    read -r w m < <(measure "$WORK/bin/backstory" build -o "$WORK/site-out" "${args[@]}")
    bw+=("$w") bm+=("$m")
  done
  rb=()
  for _ in $(seq "$RUNS"); do
    rb+=("$("$WORK/bin/benchcmd" -mode rebuild -corpus "$corpus" | sed -n 's/.*rebuild after one change \([0-9.]*\)\(m*s\).*/\1 \2/p' |
      awk '{ printf "%.2f", ($2 == "ms") ? $1 / 1000 : $1 }')")
  done
  rebuild="$(median "${rb[@]}") s"
  fwm=$(median "${fw[@]}") fmm=$(median "${fm[@]}") bwm=$(median "${bw[@]}") bmm=$(median "${bm[@]}")
  awk -v n="$n" -v fw="$fwm" -v bw="$bwm" -v fm="$fmm" -v bm="$bmm" -v rb="$rebuild" \
    'BEGIN { printf "| %s | %s s | %s s | %.2f× | %s MB | %s MB | %.2f× | %s |\n", n, fw, bw, bw/fw, fm, bm, bm/fm, rb }'
  rm -rf "$WORK/floor-out" "$WORK/site-out"
done
