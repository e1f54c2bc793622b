#!/usr/bin/env bash
# A/B of the end-to-end benchmark across checkouts, alternated round by round (one round of
# each tree in turn, so drift of a shared machine hits every tree alike). Each tree needs its
# own .venv. The last tree also runs the peers (AB_PEERS).
#
#   bench/ab_trees.sh sqlite ROUNDS N /path/old /path/new     # bench.e2e.bench_e2e, variant seq, huey
#   bench/ab_trees.sh pg ROUNDS N /path/old /path/new         # bench.pg.bench_e2e_pg, conc-2w, pgqueuer
#
# AB_VARIANTS and AB_PEERS override the variant and peers; results JSON in /tmp/ab-<db>-<tree>.
set -euo pipefail
db=$1 rounds=$2 n=$3; shift 3
if [ "$db" = sqlite ]; then
  module=bench.e2e.bench_e2e variants=${AB_VARIANTS:-seq} peers=${AB_PEERS-huey}
else
  module=bench.pg.bench_e2e_pg variants=${AB_VARIANTS:-conc-2w} peers=${AB_PEERS-pgqueuer,pgqueuer-single}
fi
last=${*: -1}
for round in $(seq 1 "$rounds"); do
  for tree in "$@"; do
    these=""; [ "$tree" = "$last" ] && these=$peers
    echo "== round $round: $tree (peers: ${these:-none})"
    (cd "$tree" && BENCH_N=$n BENCH_PEERS=$these BENCH_ROUNDS=1 BENCH_VARIANTS=$variants \
      BENCH_QUIET_MAX=60 BENCH_STATE_DIR=/tmp/ab-$db-$(basename "$tree") \
      .venv/bin/python -m $module 2>&1 | grep -E '^\| (e2e|enqueue|drain-only tasks/s \(first ->)')
  done
done
