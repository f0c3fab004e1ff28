#!/usr/bin/env bash
# Seeds to first failure for every plant (docs/testing.md#planted-bugs):
#   bash test/sim/plants/measure.sh NEMESIS MAX_SEEDS [PLANT...]
# runs `npm run sim -- --plant P --nemesis NEMESIS --seeds MAX_SEEDS --stop-on-fail
# --first-seed 1 --quiet` for each plant (by default every plant but the pins, the
# plants marked `pin` that today's code cannot reach), niced, and prints one line per
# plant; the full output of each goes to $OUT (default /tmp/dfs-plants) for the failure.
# STORE=lmdb adds `--store lmdb` (the storage plants).
set -u
nemesis=${1:?nemesis: swarm or v1}
max=${2:?max seeds}
shift 2
out=${OUT:-/tmp/dfs-plants}
mkdir -p "$out"
cd "$(dirname "$0")/../../.."
plants=("$@")
if [ ${#plants[@]} -eq 0 ]; then
  mapfile -t plants < <(node --input-type=module -e \
    'import { PLANTS } from "./test/sim/plants/registry.mjs"; for (const p of PLANTS) if (!p.pin) console.log(p.name);')
fi
for p in "${plants[@]}"; do
  log="$out/$nemesis${STORE:+-$STORE}-$p.log"
  t0=$(date +%s)
  nice -n ${NICE:-10} npx tsx test/sim/run.ts --plant "$p" --nemesis "$nemesis" --seeds "$max" \
    --stop-on-fail --first-seed 1 --quiet ${STORE:+--store "$STORE"} >"$log" 2>&1
  found=$(grep -o 'seeds to first failure: .*' "$log" | head -1)
  why=$(grep -m1 -o 'FAILURE: .*' "$log" | cut -c1-110)
  echo "$nemesis $p: ${found:-ERROR (see $log)} [$(($(date +%s) - t0)) s] ${why}"
done
