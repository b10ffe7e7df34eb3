"""Progress of long passes (`ganeval.progress`): a bar on a terminal; on a file or a pipe, plain lines that
name the pass, its count and total, at a modest rate, with no carriage returns or cursor codes; and the
command line's own output through a pipe, as a log file or CI receives it."""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import struct
import subprocess
import sys
import termios

import pytest

from ganeval import progress
from ganeval.progress import progress_bar, progress_label, progress_write
from tests.conftest import data_root

CURSOR_CODES = ("\r", "\x1b[")


def no_cursor_codes(text: str) -> bool:
    return not any(code in text for code in CURSOR_CODES)


def test_a_pipe_gets_one_line_per_tenth_naming_the_pass(monkeypatch):
    monkeypatch.setattr(progress, "MIN_GAP_S", 0.0)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_label("gan step 10:"), progress_label("reference"), progress_bar(100, "mnist:test[:100]") as bar:
        for _ in range(20):
            bar.update(5)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "gan step 10: reference mnist:test[:100]: 0/100 img (0%)"
    assert [line.split(": ")[-1].split(" ")[0] for line in lines] == [f"{n}/100" for n in range(0, 101, 10)]
    assert "(100%," in lines[-1] and " img/s)" in lines[-1]
    assert no_cursor_codes(stream.getvalue())


def test_a_fast_pass_writes_a_start_and_an_end_line_only(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_bar(1000, "fake", unit="img") as bar:
        for _ in range(100):
            bar.update(10)
    assert stream.getvalue().splitlines()[0] == "fake: 0/1000 img (0%)"
    assert len(stream.getvalue().splitlines()) == 2 and "1000/1000 img (100%" in stream.getvalue()


def test_a_slow_pass_writes_at_least_every_interval_and_a_failed_one_no_end_line(monkeypatch):
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with pytest.raises(KeyError), progress_bar(None, "steps", unit="step") as bar:  # no total: counts only
        bar.update(1)
        bar.set_postfix({"loss_d": "0.5"})
        bar.update(1)
        raise KeyError("stop")
    without_timing = [re.sub(r" \(.*\)", "", line) for line in stream.getvalue().splitlines()]
    assert without_timing == ["steps: 0 step", "steps: 1 step", "steps: 2 step loss_d 0.5"]


def test_a_download_counts_megabytes(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_bar(3_000_000, "downloading w.pth", unit="B") as bar:
        bar.update(3_000_000)
    first, last = stream.getvalue().splitlines()
    assert first == "downloading w.pth: 0.0/3.0 MB (0%)"
    assert last.startswith("downloading w.pth: 3.0/3.0 MB (100%, ") and last.endswith(" MB/s)")


def test_disabled_progress_writes_nothing_and_write_goes_to_stderr(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_bar(10, "quiet", enabled=False) as bar:
        bar.update(10)
        progress_write("ganeval: warning: something")
    assert stream.getvalue() == "ganeval: warning: something\n"


def test_a_terminal_gets_a_bar_and_a_written_line_above_it(monkeypatch):
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 rows, 100 columns
    terminal = os.fdopen(follower, "w", buffering=1)
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(4, "reference x", unit="img") as bar:
        bar.update(2)
        progress_write("a line")
        bar.update(2)
    terminal.flush()
    chunks = []  # a pty hands its buffer over in pieces: read until nothing more arrives
    while select.select([leader], [], [], 0.5)[0]:
        chunks.append(os.read(leader, 1 << 16))
    shown = b"".join(chunks).decode()
    terminal.close()
    os.close(leader)
    assert "\r" in shown and "reference x: 100%" in shown and "4/4" in shown  # tqdm redraws in place
    assert "a line" in shown


def run_to_a_pipe(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`ganeval ARGS` in a child process whose stderr is a pipe, as under `2> log` or in CI."""
    return subprocess.run([sys.executable, "-m", "ganeval", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})  # fmt: skip


def test_train_baseline_through_a_pipe_writes_plain_step_lines(tmp_path):
    done = run_to_a_pipe("train-baseline", "gan", "--dataset", "ring8", "--steps", "20", "--eval-every", "10",
                         "--batch-size", "32", "--set", "eval_samples=50", "--out", str(tmp_path / "run"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "train gan on ring8: 0/20 step (0%)"
    assert any(line.startswith("train gan on ring8: 20/20 step (100%, ") for line in lines)
    assert any(line.startswith("step 10, ") and "modes_covered" in line for line in lines)  # the log between
    assert no_cursor_codes(done.stderr)


def test_the_reference_pass_of_train_baseline_shows_through_a_pipe(tmp_path, weights_with_head):
    """Issue 22: the in-loop evaluation's reference pass ran for minutes without a word."""
    if not (data_root() / "fashion-mnist").is_dir():
        pytest.skip("fashion-mnist not found (set GANEVAL_DATA)")
    done = run_to_a_pipe("train-baseline", "gan", "--dataset", "fashion-mnist", "--steps", "1", "--width", "0.0625",
                         "--batch-size", "8", "--eval-samples", "12", "--out", str(tmp_path / "run"),
                         "--data-root", str(data_root()), "--device", "cpu",
                         GANEVAL_CACHE=str(tmp_path / "cache"), GANEVAL_WEIGHTS=str(weights_with_head))  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "reference fashion-mnist:test[:12]: 0/12 img (0%)"  # the first thing said, naming the pass
    assert any(line.startswith("reference fashion-mnist:test[:12]: 12/12 img (100%, ") for line in lines)
    assert any(line.startswith("gan step 1: generated: 12/12 img (100%, ") for line in lines)
    assert any(line.startswith("train gan on fashion-mnist: 1/1 step (100%") for line in lines)
    assert no_cursor_codes(done.stderr)
