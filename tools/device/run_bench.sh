#!/usr/bin/env bash
# On the GPU machine, after stage.sh: issue 5's benchmarks; tables land in $OUT.
set -uo pipefail
source tools/device/env.sh
python3 benchmarks/bench_extract.py --datasets "$GANEVAL_DATA" --n-a 50000 --n-b 10000 --device cuda \
  --sweep 256,1000 --results "$OUT/bench_extract.md" 2>&1 | tee "$OUT/bench_extract.log"
python3 benchmarks/bench_fid.py --cifar10 jpeg --n 50000 --n-b 10000 --device cuda --metrics fid,is,kid \
  --tools ganeval,ganeval-fast,ganeval-tf32,torch-fidelity,pytorch-fid --datasets "$GANEVAL_DATA" \
  --data-dir /root/bench --results "$OUT/bench_fid.md" 2>&1 | tee "$OUT/bench_fid.log"
