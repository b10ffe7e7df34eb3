#!/usr/bin/env bash
# On the GPU machine, after stage.sh: issue 4's baselines, all six at once on the one GPU, each stopped
# by --time-limit MINUTES ($1); metrics, curves and final sample grids come back in $OUT/runs.tgz.
set -uo pipefail
source tools/device/env.sh
limit=${1:-6.5}
mkdir -p /root/runs
train() {  # NAME DATASET
  python3 -m ganeval train-baseline "$1" --dataset "$2" --device cuda --out "/root/runs/$1-$2" \
    --time-limit "$limit" -q > "/root/runs/$1-$2.log" 2>&1
  echo "$1-$2 exit $?"
}
for name in gan wgan wgan-gp vae; do train "$name" fashion-mnist & done
for name in sngan cgan; do train "$name" cifar10-jpeg & done
wait
tail -n 3 /root/runs/*.log
python3 -m ganeval score /root/runs/wgan-gp-fashion-mnist/best.pt --ref fashion-mnist-test --metrics fid,kid \
  --samples 10000 --json -q | tee /root/runs/score-wgan-gp-best.json
for d in /root/runs/*/; do ls "$d"samples_*.png | head -n -1 | xargs -r rm; done  # keep the last grid
tar czf "$OUT/runs.tgz" -C /root/runs --exclude='*.pt' .
