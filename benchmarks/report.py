"""The results table and the environment it was measured in, as printed and as appended to RESULTS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd
import torch

REFERENCE = "torch-fidelity"
CLI_REFERENCE = "`fidelity --fid` (command line)"  # command-line rows compare with torch-fidelity's own CLI
PACKAGES = ("torch", "torchvision", "torch-fidelity", "pytorch-fid", "ganeval")


def table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per tool; |dFID| and the speed ratio are against torch-fidelity when it ran."""
    df = pd.DataFrame(records)
    df["img/s"] = df["images"] / df["extract_s"]
    df["rest_s"] = df["seconds"] - df["load_s"] - df["extract_s"]  # mostly the metric's linear algebra
    ref = df[df["tool"] == REFERENCE]
    if len(ref):
        if "fid" in df:
            df["abs dFID vs tfd"] = (df["fid"] - float(ref["fid"].iloc[0])).abs()
        for key, name in (("fid", "FID"), ("is_mean", "IS"), ("kid_mean", "KID")):
            if key in df and pd.notna(ref[key].iloc[0]):
                df[f"rel d{name} vs tfd"] = (df[key] / float(ref[key].iloc[0]) - 1).abs()
        df["speed-up vs tfd"] = float(ref["seconds"].iloc[0]) / df["seconds"]
        cli_ref = df[df["tool"] == CLI_REFERENCE]
        if len(cli_ref):  # a fresh process against a fresh process
            cli_rows = df["tool"].str.contains("(command line)", regex=False)
            df.loc[cli_rows, "speed-up vs tfd"] = float(cli_ref["seconds"].iloc[0]) / df.loc[cli_rows, "seconds"]
    first = ["tool", "mode", "images", "seconds", "img/s", "fid", "abs dFID vs tfd", "speed-up vs tfd", "load_s"]
    first += ["extract_s", "rest_s"]
    columns = [c for c in first if c in df] + [c for c in df if c not in first]
    return df[columns].dropna(axis=1, how="all")


def markdown(df: pd.DataFrame) -> str:
    """A GitHub table without the optional `tabulate` dependency pandas would need."""

    def cell(value: Any, column: str) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        if isinstance(value, float):
            if column.startswith(("abs dFID", "rel d", "kid")):
                return f"{value:.3g}"
            return f"{value:.4f}" if column in ("fid", "is_mean", "is_std") else f"{value:.2f}"
        return str(value)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v, c) for c, v in row.items()) + " |" for _, row in df.iterrows()]
    return "\n".join(lines)


def environment(device: str) -> dict[str, str]:
    """Where the numbers come from: device, driver, versions, CPUs, date."""
    dev = torch.device(device)
    env = {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds")}
    if dev.type == "cuda":
        env["device"] = torch.cuda.get_device_name(dev)
        env["driver"] = _nvidia_driver()
        env["cuda"] = str(torch.version.cuda)
    else:
        env["device"] = f"CPU ({platform.processor() or platform.machine()}), {torch.get_num_threads()} torch threads"
    env["cpus"] = str(os.cpu_count())
    env["load average at start"] = " ".join(f"{x:.1f}" for x in os.getloadavg())  # other users of the machine
    env["python"] = platform.python_version()
    for name in PACKAGES:
        try:
            env[name] = version(name)
        except PackageNotFoundError:
            env[name] = "not installed"
    return env


def _nvidia_driver() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True
        )
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 else "unknown"
    except (OSError, IndexError):
        return "unknown"


def section(df: pd.DataFrame, env: dict[str, str], command: str, notes: list[str], title: str = "") -> str:
    """The block appended to RESULTS.md for one run (`title` follows the date and device)."""
    header = f"## {env['date']}: {env['device']}" + (f": {title}" if title else "")
    facts = ", ".join(f"{k} {v}" for k, v in env.items() if k not in ("date", "device"))
    body = [header, "", f"Command: `{command}`", "", f"Environment: {facts}.", "", markdown(df), ""]
    return "\n".join(body + [f"- {n}" for n in notes] + [""])


def append(path, text: str) -> None:
    """Add one section to RESULTS.md."""
    with open(path, "a") as fh:
        fh.write("\n" + text)
