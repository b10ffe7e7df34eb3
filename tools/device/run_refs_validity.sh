#!/usr/bin/env bash
# On the GPU machine, after stage.sh: issue 3's reference statistics (strict float32) and issue 6's
# full-size validity report; results land in $OUT.
set -uo pipefail
source tools/device/env.sh
for spec in mnist:test fashion-mnist:test cifar10-jpeg:test mnist:train fashion-mnist:train cifar10-jpeg:train; do
  name=${spec/:/-}
  /usr/bin/time -f "$name %e s" python3 -m ganeval stats "$spec" -o "$OUT/$name.npz" --compact --precision strict \
    --no-cache --json -q | tee -a "$OUT/refs.jsonl"
done
mkdir -p /root/validity
for dataset in fashion-mnist cifar10-jpeg; do
  python3 benchmarks/validity.py --dataset "$dataset" --device cuda --out /root/validity 2>&1 | tail -3
done
python3 benchmarks/bench_memory.py --device cuda --runs 10000x32,100000x32,400000x32,2000x1024 \
  --results /root/validity/bench_memory.md 2>&1 | tail -8
tar czf "$OUT/validity.tgz" -C /root validity
