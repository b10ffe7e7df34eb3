"""How long does a command stay silent? Seconds to its first line on stderr (a pipe, as in `2> log`), and
the longest gap between lines, for this tree and for another checkout, side by side.

    python benchmarks/bench_silence.py --checkout /tmp/ganeval-old --limit 150 -- \
        train-baseline wgan-gp --dataset fashion-mnist --steps 20 --data-root ../shared/datasets --out /tmp/silence

Each run is stopped after `--limit` seconds (a silent run shows as "none within the limit"). A line with
cursor codes (ESC[) is counted, so a terminal bar leaking into a log shows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def watch(tree: Path, args: list[str], limit: float) -> dict:
    """Start `python -m ganeval ARGS` from `tree`, read its stderr line by line until exit or `limit`."""
    out = Path(tempfile.mkdtemp())
    args = [a.replace("{out}", str(out)) for a in args]
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "ganeval", *args], cwd=tree, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    times: list[float] = []
    cursor = [0]
    first_text = [""]

    def read() -> None:
        for line in process.stderr:
            times.append(time.perf_counter() - start)
            cursor[0] += "\x1b[" in line
            first_text[0] = first_text[0] or line.strip()[:100]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    reader.join(timeout=5)
    ended = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    return {"first_line_s": times[0] if times else None, "longest_gap_s": max(gaps) if gaps else None,
            "lines": len(times), "lines_with_cursor_codes": cursor[0], "ran_s": ended,
            "first": first_text[0]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkout", type=Path, default=None, help="another tree to compare (e.g. before a change)")
    parser.add_argument("--limit", type=float, default=150.0, help="seconds each run may take")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the ganeval arguments ({out}: a temp folder)")
    options = parser.parse_args()
    args = options.args[1:] if options.args[:1] == ["--"] else options.args
    trees = [("this tree", ROOT)] + (
        [("checkout " + options.checkout.name, options.checkout)] if options.checkout else []
    )
    print(f"command: ganeval {' '.join(args)}")
    print("| tree | first stderr line (s) | longest gap (s) | lines | with cursor codes | ran (s) | first line |")
    print("|---|---|---|---|---|---|---|")
    for name, tree in trees:
        r = watch(tree, args, options.limit)
        first = f"{r['first_line_s']:.1f}" if r["first_line_s"] is not None else f"none within {options.limit:.0f}"
        gap = f"{r['longest_gap_s']:.1f}" if r["longest_gap_s"] is not None else "-"
        print(f"| {name} | {first} | {gap} | {r['lines']} | {r['lines_with_cursor_codes']} | {r['ran_s']:.0f} | "
              f"`{r['first']}` |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
