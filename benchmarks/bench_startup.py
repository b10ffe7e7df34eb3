"""How long the command line takes to answer what needs no network: help, argument errors, listings, and
an FID whose two inputs are both in the cache.

Each command runs in a fresh process (what a user's shell does), `--repeats` times; the table gives the
median and the slowest. `--checkout DIR` times another source tree of ganeval with the same interpreter
(e.g. a `git worktree` of an older commit), so a change is measured before and after in one run.

    python benchmarks/bench_startup.py --checkout /tmp/ganeval-old
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import append, environment, markdown  # noqa: E402

COMMANDS = (
    ("--help",),
    ("fid", "--help"),
    ("refs", "list"),
    ("cache", "list"),
    ("fid", "only-one-input"),
    ("fid", "examples/cifar10-a", "no-such-folder/"),  # a missing path
    ("score", "examples/cifar10-a", "examples/cifar10-b", "--metrics", "fidd"),  # a mistyped metric
    ("fid", "examples/cifar10-a", "examples/cifar10-b"),  # both inputs cached by the untimed run before
)
CACHED = COMMANDS[-1]


def time_command(tree: Path, args: tuple[str, ...], repeats: int, env: dict[str, str]) -> tuple[float, float]:
    """(median, slowest) wall seconds of `python -m ganeval ARGS` run from `tree` (its package first)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ganeval", *args], cwd=tree, env=env, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", action="append", default=[], help="Another ganeval source tree to time.")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    trees = {"this tree": Path(__file__).resolve().parents[1]}
    trees.update({f"checkout {Path(c).name}": Path(c).resolve() for c in args.checkout})
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "GANEVAL_CACHE": cache, "PYTHONDONTWRITEBYTECODE": "1"}
        for tree in trees.values():  # one untimed run each, so neither pays for compiling bytecode
            subprocess.run([sys.executable, "-m", "ganeval", "--help"], cwd=tree, env=env, capture_output=True)
            subprocess.run([sys.executable, "-m", "ganeval", *CACHED], cwd=tree, env=env, capture_output=True)
        rows = []
        for label, tree in trees.items():
            for command in COMMANDS:
                median, slowest = time_command(tree, command, args.repeats, env)
                rows.append({"tree": label, "command": "ganeval " + " ".join(command), "median_s": median,
                             "slowest_s": slowest})  # fmt: skip
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    if not args.no_append:
        env_facts = environment("cpu")
        command = "python benchmarks/bench_startup.py " + " ".join(sys.argv[1:])
        facts = ", ".join(f"{k} {v}" for k, v in env_facts.items() if k not in ("date", "device"))
        text = "\n".join([
            f"## {env_facts['date']}: {env_facts['device']}: command-line start-up", "",
            f"Command: `{command}`", "", f"Environment: {facts}.", "", markdown(df), "",
            f"- Median and slowest of {args.repeats} fresh processes per command, each from its tree's folder.", "",
        ])  # fmt: skip
        append(args.results, text)


if __name__ == "__main__":
    main()
