"""`ganeval report`: result records (`ganeval.records`) as tables, training curves and bar charts.

One row per input (a folder, or a checkpoint at its step), one column per metric, the mean ± std over the
repeats, the best value of each column marked. Records computed with different settings (weights, mode,
reference, precision, metric options) are never mixed in one column: each group of settings gets its own
table, introduced by what differs. Error records are listed, not averaged.

A training run's own `metrics.csv` (its in-loop evaluations, one row per step) reads as records too: the
run folder is the input, each row a step, every numeric column but the clock a metric (losses included).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ganeval.errors import InputError, check
from ganeval.records import read_records

FORMATS = ("md", "csv", "json", "latex")
LOWER_IS_BETTER = (
    "fid",
    "kid",
    "intra_fid",
    "reverse_kl",
    "cycle",
    "l1",
    "fd",
    "kd",
    "sfid",
    "cmmd",
    "sw",
    "mifid",
    "intra_fd",
)
HIGHER_IS_BETTER = (
    "is",
    "precision",
    "recall",
    "density",
    "coverage",
    "modes_covered",
    "high_quality",
    "psnr",
    "vendi",
    "authpct",
)
RENAMED = {"kid_mean": "kid", "is_mean": "is"}  # the within-record spreads (kid_std, is_std) are not columns
ROW_KEYS = ("input", "step")


def direction(metric: str) -> int:
    """-1 lower is better, +1 higher is better, 0 unknown (not marked)."""
    base = metric.split("_")[0] if metric not in RENAMED.values() else metric
    if metric.startswith(LOWER_IS_BETTER) or base in LOWER_IS_BETTER:
        return -1
    if metric.startswith(HIGHER_IS_BETTER) or base in HIGHER_IS_BETTER:
        return 1
    return 0


CLOCK_COLUMNS = ("time_s", "eval_time_s")  # metrics.csv columns that are not metrics


def load(paths: list[str]) -> list[dict[str, Any]]:
    """The records of JSON-lines files (`ganeval benchmark --out`) and of runs' metrics.csv files (`.csv`)."""
    for p in paths:
        check(Path(p).exists(), f"no such file: {p}")
    records = [r for p in paths for r in (run_records(p) if str(p).endswith(".csv") else read_records(p))]
    check(bool(records), f"no records in {', '.join(paths)}")
    return records


def run_records(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a training run's metrics.csv as records: input and run = the run's folder, step = the row's."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as exc:  # pandas' parser and empty-data errors are ValueErrors
        raise InputError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    check("step" in table.columns, f"{path} has no step column: not the metrics.csv of a training run")
    run = str(Path(path).parent)
    records = []
    for row in table.to_dict("records"):
        metrics = {k: float(v) for k, v in row.items()
                   if k != "step" and k not in CLOCK_COLUMNS and _is_number(v) and v == v}  # fmt: skip
        records.append({"status": "ok", "input": {"path": run, "kind": "run", "step": int(row["step"]), "run": run},
                        "repeat": 0, "metrics": metrics, "settings": {"source": "metrics.csv", "run": run},
                        "settings_key": f"metrics.csv:{Path(path).resolve()}"})  # fmt: skip
    return records


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def groups(records: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Records split by their settings, largest group first."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_key.setdefault(record.get("settings_key", "?"), []).append(record)
    return sorted(by_key.items(), key=lambda kv: -len(kv[1]))


def differences(records_by_group: list[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    """One line per group naming the settings in which it differs from the others."""
    settings = [g[1][0].get("settings", {}) for g in records_by_group]
    keys = sorted({k for s in settings for k in s})
    varying = [k for k in keys if len({json.dumps(s.get(k), sort_keys=True, default=str) for s in settings}) > 1]
    varying = [k for k in varying if k != "batch_size"]
    return [", ".join(f"{k}={_short(s.get(k))}" for k in varying) or "same settings" for s in settings]


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:16] + "..."


def metric_columns(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        for key, value in (r.get("metrics") or {}).items():
            name = RENAMED.get(key, key)
            interval = key.endswith(("_se", "_ci", "_std")) or key.startswith("n_")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not interval:
                seen[name] = None
    return list(seen)


def _interval(metrics: dict[str, Any], column: str) -> tuple[float, float] | None:
    """The bootstrap interval a record holds for a column (`fid_ci`; `kid_mean_ci` for the kid column)."""
    for key in (column, *(k for k, v in RENAMED.items() if v == column)):
        ci = metrics.get(f"{key}_ci")
        if isinstance(ci, list) and len(ci) == 2:
            return float(ci[0]), float(ci[1])
    return None


def summary(records: list[dict[str, Any]], sort: str | None = None) -> pd.DataFrame:
    """Mean and std over repeats per input, for one group of settings; numeric columns NAME and NAME_std."""
    ok = [r for r in records if r.get("status") == "ok"]
    columns = metric_columns(ok)
    rows = []
    intervals: list[str] = []
    for r in ok:
        metrics = {RENAMED.get(k, k): v for k, v in r["metrics"].items()}
        row = {"input": r["input"]["path"], "step": r["input"].get("step"), "run": r["input"].get("run"),
               "repeat": r["repeat"], "n_real": metrics.get("n_real"), "n_fake": metrics.get("n_fake"),
               **{c: metrics.get(c) for c in columns}}  # fmt: skip
        for c in columns:
            ci = _interval(r["metrics"], c)
            if ci is not None:
                row[f"{c}_ci_low"], row[f"{c}_ci_high"] = ci
                intervals.append(c)
        rows.append(row)
    check(bool(rows), "no successful records to report")
    df = pd.DataFrame(rows)
    df["step"] = df["step"].astype("Int64")
    keys = ["input", "step"]
    grouped = df.groupby(keys, dropna=False, sort=False)
    bounds = [f"{c}_ci_{side}" for c in dict.fromkeys(intervals) for side in ("low", "high")]
    table = grouped[columns + bounds].mean()  # intervals of repeats: the mean of their bounds
    spread = grouped[columns].std(ddof=0).add_suffix("_std")
    counts = grouped.agg(run=("run", "first"), repeats=("repeat", "nunique"), n_real=("n_real", "first"),
                         n_fake=("n_fake", "first"))  # fmt: skip
    out = pd.concat([counts, table, spread], axis=1).reset_index()
    if sort is not None:
        name = RENAMED.get(sort, sort)
        check(name in columns, f"cannot sort by {sort!r}; columns: {', '.join(columns)}")
        out = out.sort_values(name, ascending=direction(name) <= 0, kind="stable")
    return out.reset_index(drop=True)


def best_rows(table: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    """For each metric with a direction, the row index of its best mean (nothing to mark in a single row)."""
    best: dict[str, int] = {}
    if len(table) < 2:
        return best
    for c in columns:
        d = direction(c)
        values = table[c].astype(float)
        if d and values.notna().any():
            best[c] = int(values.idxmin() if d < 0 else values.idxmax())
    return best


def _cell(mean: float, std: float, repeats: int, ci: tuple[Any, Any] = (None, None)) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    text = f"{mean:.4g}"
    text = f"{text} ± {std:.2g}" if repeats > 1 and std == std else text
    low, high = ci
    if low is not None and not pd.isna(low):
        text += f" [{low:.4g}, {high:.4g}]"
    return text


def render(table: pd.DataFrame, fmt: str) -> str:
    """The table as Markdown, CSV, JSON or LaTeX, the best value of each metric marked."""
    check(fmt in FORMATS, f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    columns = [c for c in table.columns if c not in ("input", "step", "run", "repeats", "n_real", "n_fake")
               and not c.endswith(("_std", "_ci_low", "_ci_high"))]  # fmt: skip
    best = best_rows(table, columns)
    if fmt == "csv":
        marked = table.copy()
        marked["best"] = [" ".join(c for c, i in best.items() if i == row) for row in range(len(table))]
        return marked.to_csv(index=False)
    if fmt == "json":
        rows = json.loads(table.to_json(orient="records"))
        for i, row in enumerate(rows):
            row["best"] = [c for c, j in best.items() if j == i]
        return json.dumps(rows, indent=2)
    header = ["input", "step", "n_real", "n_fake", *columns]
    lines = []
    for i, row in table.iterrows():
        cells = [str(row["input"]), "" if pd.isna(row["step"]) else str(row["step"]),
                 _count(row["n_real"]), _count(row["n_fake"])]  # fmt: skip
        for c in columns:
            text = _cell(
                row[c], row.get(f"{c}_std"), int(row["repeats"]), (row.get(f"{c}_ci_low"), row.get(f"{c}_ci_high"))
            )
            if best.get(c) == i and text:
                text = f"**{text}**" if fmt == "md" else f"\\textbf{{{text}}}"
            cells.append(text)
        lines.append(cells)
    if fmt == "md":
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |" for cells in lines]
        return "\n".join(out)
    escaped = [[c.replace("_", "\\_").replace("±", "$\\pm$") for c in cells] for cells in lines]
    out = ["\\begin{tabular}{" + "l" * 4 + "r" * len(columns) + "}", "\\toprule",
           " & ".join(h.replace("_", "\\_") for h in header) + " \\\\", "\\midrule"]  # fmt: skip
    out += [" & ".join(cells) + " \\\\" for cells in escaped]
    return "\n".join([*out, "\\bottomrule", "\\end{tabular}"])


def _count(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(int(value))


def errors(records: list[dict[str, Any]]) -> list[str]:
    return [f"{r['input']['path']} (repeat {r['repeat']}): {r['error']}" for r in records if r.get("status") != "ok"]


def plot(records: list[dict[str, Any]], path: str | Path) -> str:
    """Each metric against training step, one line per run, inputs without a step as dashed lines across; or,
    when no record has a step (folders, archives), a bar chart of each metric per input. Returns what was
    drawn, in words."""
    ok = [r for r in records if r.get("status") == "ok"]
    check(bool(ok), "nothing to plot: no successful records")
    stepped = [r for r in ok if r["input"].get("step") is not None]
    level = [r for r in ok if r["input"].get("step") is None]
    if not stepped:
        return _plot_bars(level, path)
    from ganeval.plots import Panel, save_panels

    table = summary(stepped)
    table["run"] = table["run"].fillna(table["input"])
    flat = summary(level) if level else None
    columns = [c for c in metric_columns(stepped) if c in table]
    panels = []
    for c in columns:
        series = {}
        for run, part in table.sort_values("step").groupby("run", sort=True):
            series[str(run)] = (part["step"].astype(float).tolist(), part[c].astype(float).tolist())
        hlines = (
            {str(i): float(v) for i, v in zip(flat["input"], flat[c], strict=True)}
            if flat is not None and c in flat
            else {}
        )
        panels.append(Panel(c, series, "training step", c, hlines=hlines))
    save_panels(panels, path, columns=min(3, len(panels)))
    runs = table["run"].nunique()
    return f"curves of {runs} run(s)" + (f" and {len(flat)} input(s) without a step" if flat is not None else "")


def _plot_bars(records: list[dict[str, Any]], path: str | Path) -> str:
    from ganeval.plots import Bars, save_bars

    table = summary(records)
    columns = [c for c in metric_columns(records) if c in table]
    best = best_rows(table, columns)
    panels = []
    for c in columns:
        values = {str(row["input"]): (float(row[c]), float(row[f"{c}_std"])) for _, row in table.iterrows()}
        way = {-1: " (lower is better)", 1: " (higher is better)"}.get(direction(c), "")
        panels.append(Bars(c + way, values, c, best=str(table["input"][best[c]]) if c in best else None))
    save_bars(panels, path)
    return f"bars of {len(table)} input(s) (no record has a training step)"
