"""The cache: complete keys, exact round trips, survival of `kill -9` mid-write, concurrent writers,
and `ganeval cache list|clear`. Small synthetic statistics (the cache does not care about d): no network passes here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ganeval.cache import Cache, CacheKey, parse_age
from ganeval.cli import main
from ganeval.errors import InputError
from ganeval.metrics.gaussian import gaussian_stats
from ganeval.statsfile import stats_metadata

ROOT = Path(__file__).resolve().parents[1]
KEY = CacheKey("f" * 64, "a" * 64, "tf", "pool3")

# A writer process: puts deterministic statistics for KEY into the cache at argv[1].
WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from ganeval.cache import Cache, CacheKey
    from ganeval.metrics.gaussian import gaussian_stats
    from ganeval.statsfile import stats_metadata

    def stats(seed):
        return gaussian_stats(np.random.default_rng(seed).normal(size=(30, 256)))

    key = CacheKey("f" * 64, "a" * 64, "tf", "pool3")
    meta = stats_metadata(weights_sha256="a" * 64, mode="tf", layer="pool3", source="synthetic",
                          source_fingerprint="f" * 64, n=30)
    cache = Cache(sys.argv[1])
    """
)


def synthetic(seed: int = 0):
    return gaussian_stats(np.random.default_rng(seed).normal(size=(30, 256)))


def meta() -> dict:
    return stats_metadata(weights_sha256="a" * 64, mode="tf", layer="pool3", source="synthetic",
                          source_fingerprint="f" * 64, n=30)  # fmt: skip


def spawn(script: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", WRITER + script, *args], env=env, stdout=subprocess.PIPE, text=True)


def test_key_covers_every_setting():
    digests = {KEY.digest("stats")}
    for change in [
        {"source_fingerprint": "e" * 64},
        {"weights_sha256": "b" * 64},
        {"mode": "clean"},
        {"layer": "logits"},
        {"skip_bad": True},
    ]:
        digests.add(replace(KEY, **change).digest("stats"))
    digests.add(KEY.digest("features"))
    assert len(digests) == 7
    assert CacheKey("f" * 64, "a" * 64, "tf", "pool3").digest("stats") == KEY.digest("stats")


def test_round_trips_are_exact(tmp_path):
    cache = Cache(tmp_path)
    assert cache.get_stats(KEY) is None and cache.get_features(KEY) is None
    stats = synthetic()
    path = cache.put_stats(KEY, "my samples/", stats, meta())
    assert path.name.startswith("my_samples-stats-tf-pool3-")
    hit = cache.get_stats(KEY)
    np.testing.assert_array_equal(hit.stats.sigma, stats.sigma)
    np.testing.assert_array_equal(hit.stats.mu, stats.mu)
    assert hit.meta["source"] == "synthetic"
    features = np.random.default_rng(2).normal(size=(5, 256)).astype(np.float32)
    cache.put_features(KEY, "x", features, meta())
    got, got_meta = cache.get_features(KEY)
    np.testing.assert_array_equal(got, features)
    assert [e.kind for e in cache.entries()] == ["stats", "features"]


def test_unreadable_entry_is_a_miss(tmp_path):
    cache = Cache(tmp_path)
    path = cache.put_stats(KEY, "x", synthetic(), meta())
    path.write_bytes(path.read_bytes()[:1000])  # damaged on disk (not by ganeval's writes)
    with pytest.warns(UserWarning, match="ignoring"):
        assert cache.get_stats(KEY) is None
    cache.put_stats(KEY, "x", synthetic(), meta())
    assert cache.get_stats(KEY) is not None


def test_kill_9_during_a_write_leaves_the_cache_readable(tmp_path):
    """A writer killed after writing its data but before the rename: the old entry stays intact."""
    Cache(tmp_path).put_stats(KEY, "x", synthetic(0), meta())
    script = textwrap.dedent(
        """
        import os, time, ganeval.atomic
        def stall(src, dst):
            print("WRITTEN", os.path.getsize(src), flush=True)
            time.sleep(600)
        ganeval.atomic.os.replace = stall
        cache.put_stats(key, "x", stats(1), meta)
        """
    )
    writer = spawn(script, str(tmp_path))
    try:
        line = writer.stdout.readline()
        assert line.startswith("WRITTEN") and int(line.split()[1]) > 256 * 256 * 4
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode == -signal.SIGKILL
    leftovers = list(tmp_path.glob(".tmp-*"))
    assert len(leftovers) == 1  # the killed writer's temporary file, ignored by readers
    cache = Cache(tmp_path)
    np.testing.assert_array_equal(cache.get_stats(KEY).stats.sigma, synthetic(0).sigma)
    assert len(cache.entries()) == 1
    assert cache.clear(older_than=1e9) == (0, 0)  # a fresh temporary file may belong to a live writer
    old = time.time() - 7200
    os.utime(leftovers[0], (old, old))
    cache.clear(older_than=1e9)
    assert not list(tmp_path.glob(".tmp-*")) and len(cache.entries()) == 1


def test_kill_9_at_a_random_moment_never_leaves_a_partial_entry(tmp_path):
    script = "import time\nprint('GO', flush=True)\nwhile True:\n    cache.put_stats(key, 'x', stats(0), meta)\n"
    writer = spawn(script, str(tmp_path))
    assert writer.stdout.readline().strip() == "GO"
    time.sleep(1.5)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    hit = Cache(tmp_path).get_stats(KEY)
    assert hit is None or np.array_equal(hit.stats.sigma, synthetic(0).sigma)
    assert len(Cache(tmp_path).entries()) <= 1


def test_two_concurrent_writers_both_succeed_and_agree(tmp_path):
    go = tmp_path / "go"
    script = textwrap.dedent(
        f"""
        import os, time
        while not os.path.exists({str(go)!r}):
            time.sleep(0.01)
        for _ in range(20):
            assert cache.put_stats(key, "x", stats(0), meta) is not None
        print("OK", flush=True)
        """
    )
    writers = [spawn(script, str(tmp_path / "cache")) for _ in range(2)]
    go.touch()
    reads = []
    while any(w.poll() is None for w in writers):
        hit = Cache(tmp_path / "cache").get_stats(KEY)
        reads.append(None if hit is None else hit.stats.sigma)
        time.sleep(0.02)
    outputs = [w.communicate()[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0] and all("OK" in o for o in outputs)
    expected = synthetic(0).sigma
    assert all(r is None or np.array_equal(r, expected) for r in reads)
    np.testing.assert_array_equal(Cache(tmp_path / "cache").get_stats(KEY).stats.sigma, expected)
    assert not list((tmp_path / "cache").glob(".tmp-*"))


def test_cache_cli_list_and_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("GANEVAL_CACHE", str(tmp_path))
    cache = Cache()
    assert cache.root == tmp_path
    old = cache.put_stats(KEY, "old", synthetic(), meta())
    cache.put_stats(replace(KEY, mode="clean"), "new", synthetic(), meta())
    past = time.time() - 10 * 86400
    os.utime(old, (past, past))
    runner = CliRunner()
    listed = runner.invoke(main, ["cache", "list"])
    assert listed.exit_code == 0 and listed.stdout.count("stats") == 2 and "synthetic" in listed.stdout
    assert runner.invoke(main, ["cache", "path"]).stdout.strip() == str(tmp_path)
    cleared = runner.invoke(main, ["cache", "clear", "--older-than", "7d"])
    assert cleared.exit_code == 0 and "removed 1 entries" in cleared.stdout
    assert [e.path.name.split("-")[0] for e in cache.entries()] == ["new"]
    assert runner.invoke(main, ["cache", "clear"]).exit_code == 0 and cache.entries() == []
    bad = runner.invoke(main, ["cache", "clear", "--older-than", "soon"])
    assert bad.exit_code == 1 and "ganeval: error: cannot read the age" in bad.stderr


def test_parse_age():
    assert parse_age("30m") == 1800 and parse_age("12h") == 43200 and parse_age("2") == 2 * 86400
    with pytest.raises(InputError):
        parse_age("-1d")
