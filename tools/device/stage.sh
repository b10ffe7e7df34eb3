#!/usr/bin/env bash
# On the GPU machine: move carried part PART (.stage/PART, see README.md here) out of the repository copy.
# The weights arrive in parts w.part1, w.part2, ... in separate calls (one call carries at most 64 MiB,
# the working tree included); they are joined and checked against the sha256 that travels with the last.
set -euo pipefail
part=$1
mkdir -p /root/stage /root/datasets /root/w
cp -r ".stage/$part/." /root/stage/
for d in cifar10-jpeg mnist fashion-mnist; do
  if [ -d "/root/stage/$d" ]; then rm -rf "/root/datasets/$d"; mv "/root/stage/$d" /root/datasets/; fi
done
[ -f /root/stage/SOURCES.md ] && mv /root/stage/SOURCES.md /root/datasets/
weights=/root/w/inception-2015-12-05-imported.pth
# w.sha256 travels with the last part: once it is here, every part is.
if [ -f /root/stage/w.sha256 ] && [ ! -f "$weights" ]; then
  cat /root/stage/w.part* > "$weights"
  want=$(cut -d' ' -f1 /root/stage/w.sha256)
  got=$(sha256sum "$weights" | cut -d' ' -f1)
  if [ "$want" != "$got" ]; then echo "weights sha256 mismatch: $got, expected $want" >&2; rm -f "$weights"; exit 1; fi
  rm -f /root/stage/w.part*
  echo "weights joined, sha256 $got"
fi
du -sh /root/datasets/* /root/w/* 2>/dev/null || true
