"""`ganeval report --html`: the records as one self-contained HTML page, to read or send as a single file.

Everything is inside the file (images as data: URIs, the style inline, no script), and a Content-Security-
Policy forbids the browser any other request, so the page opens the same offline, from a mail or an archive.
It shows what the Markdown report shows (one table per group of settings, best values in bold, intervals
where the records hold them), the curves of `report --plot`, a grid of samples per input read from the
input itself, the per-class FIDs and the nearest-training-image ("copies") view. An input that cannot be
opened any more gets a one-line note instead of its grid: a report of old records must still be written.
Every string taken from the records is escaped.

The copies view reads this optional record field (a memorisation check may write it):

    "copies": {"train": "<the TRAIN input spec>",
               "rows": [{"fake": i, "train": [j1, j2, j3], "distances": [d1, d2, d3], "ratio": r}, ...]}

fake image i of the record's input (a checkpoint's drawn again with the record's seed) beside its nearest
training images j1.. with their distances.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ganeval import report
from ganeval.atomic import atomic_write
from ganeval.errors import check
from ganeval.html_images import InputImages, data_uri, mosaic, png

COPIES_SHOWN = 24  # rows of the copies view per input
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1f2328;
       margin: 0; background: #fff; }
main { max-width: 1160px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 15px; margin: 18px 0 8px; }
.meta, .note, figcaption, details { color: #57606a; }
.note { font-style: italic; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; background: #f6f8fa; padding: 1px 4px;
       border-radius: 4px; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 4px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 9px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.best { background: #e6f4ea !important; }
.sd, .ci, .se { color: #57606a; }
.ci, .se { display: block; font-size: 12px; }
details { margin: 6px 0; font-size: 13px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; margin: 6px 0 0; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure { margin: 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px; max-width: 100%; box-sizing: border-box; }
.card .note { margin: 0; max-width: 480px; }
.card figcaption { margin-bottom: 6px; font-size: 13px; overflow-wrap: anywhere; }
img { display: block; max-width: 100%; height: auto; }
img.pixelated { image-rendering: pixelated; }
.copy { display: flex; gap: 10px; align-items: flex-start; padding: 8px 0; border-bottom: 1px solid #eaeef2; }
.copy figure { text-align: center; font-size: 12px; }
.copy .fake { padding-right: 10px; border-right: 2px solid #d0d7de; }
.copy img { width: 64px; }
ul.errors li { overflow-wrap: anywhere; }
"""


def write_html_report(
    records: list[dict[str, Any]],
    path: str | os.PathLike,
    *,
    data_root: str | os.PathLike | None = None,
    samples_per_input: int = 32,
    title: str | None = None,
) -> Path:
    """Write the report of `records` (`ganeval.records`) to `path` as one self-contained HTML file."""
    check(bool(records), "no records to report")
    check(samples_per_input >= 0, f"samples_per_input must be at least 0, got {samples_per_input}")
    images = InputImages(data_root)
    title = title or "ganeval report"
    sections = [_header(records, title), _tables(records), _curves(records), _per_class(records),
                _samples(records, images, samples_per_input), _copies(records, images), _failures(records)]  # fmt: skip
    page = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(s for s in sections if s)
        + "\n</main>\n</body>\n</html>\n"
    )
    return atomic_write(path, lambda f: f.write(page.encode("utf-8")))


def _e(value: Any) -> str:
    """A record's value as HTML text (quotes too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def _ok(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("status") == "ok" and isinstance(r.get("metrics"), dict)]


def _label(record: dict[str, Any]) -> str:
    step = record["input"].get("step")
    return record["input"]["path"] + (f" @ step {step}" if step is not None else "")


def _header(records: list[dict[str, Any]], title: str) -> str:
    ok = _ok(records)
    inputs = {r["input"]["path"] for r in records}
    references = sorted({str((r.get("reference") or {}).get("name")) for r in ok if r.get("reference")})
    versions = sorted({str((r.get("versions") or {}).get("ganeval")) for r in records if r.get("versions")})
    parts = [f"{len(records)} records", f"{len(inputs)} inputs", f"{len(records) - len(ok)} failed"]
    if references:
        parts.append("reference " + ", ".join(f"<code>{_e(r)}</code>" for r in references))
    if versions:
        parts.append("ganeval " + ", ".join(_e(v) for v in versions))
    return f'<h1>{_e(title)}</h1>\n<p class="meta">{" · ".join(parts)}</p>'


# The table -------------------------------------------------------------------------------------------------------


def _groups(records: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]], str]]:
    """(settings key, its successful records, what differs) per group of settings, as `ganeval report` splits them."""
    grouped = [(key, _ok(members)) for key, members in report.groups(records) if _ok(members)]
    notes = report.differences(grouped) if len(grouped) > 1 else [""] * len(grouped)
    return [(key, members, note) for (key, members), note in zip(grouped, notes, strict=True)]


def _tables(records: list[dict[str, Any]]) -> str:
    grouped = _groups(records)
    if not grouped:
        return ""
    out = ["<h2>Results</h2>"]
    for key, members, note in grouped:
        if note:
            out.append(f'<h3 class="group">Settings: {_e(note)}</h3>')
        out.append(_table(members, key))
        out.append(_settings(members[0]))
    return "\n".join(out)


def _table(ok: list[dict[str, Any]], key: str) -> str:
    """The Markdown report's table, each cell split into value, spread and interval for the reader's eye."""
    table = report.summary(ok)
    metrics = [c for c in report.metric_columns(ok) if not _is_se(c, table)]
    best = report.best_rows(table, metrics)
    by_row: dict[tuple[str, int | None], list[dict[str, Any]]] = {}
    for r in ok:
        by_row.setdefault((r["input"]["path"], r["input"].get("step")), []).append(r["metrics"])
    stepped = bool(table["step"].notna().any())  # folders alone: no step column, as nothing would be in it
    head = "".join(f'<th class="num">{_e(c)}</th>' for c in ["step"] * stepped + ["n_real", "n_fake", *metrics])
    rows = []
    for i, row in table.iterrows():
        step = None if _missing(row["step"]) else int(row["step"])
        plain = ["" if step is None else str(step)] * stepped + [_count(row["n_real"]), _count(row["n_fake"])]
        cells = [f"<td>{_e(row['input'])}</td>", *(f'<td class="num">{v}</td>' for v in plain)]
        members = by_row.get((row["input"], step), [])
        for c in metrics:
            cells.append(_metric_cell(c, row[c], row.get(f"{c}_std"), int(row["repeats"]), members, best.get(c) == i))
        rows.append(
            f'<tr data-input="{_e(row["input"])}" data-step="{"" if step is None else step}">{"".join(cells)}</tr>'
        )
    extra = {k[-2:] for r in ok for k in r["metrics"] if k.endswith(("_ci", "_se"))}
    return _legend(metrics, sorted(set(table["repeats"].astype(int))), extra) + (
        f'<div class="scroll"><table class="metrics" data-settings="{_e(key)}">\n<thead><tr><th>input</th>{head}'
        f"</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>"
    )


def _is_se(column: str, table: Any) -> bool:
    """A standard error that the records keep beside a metric (`fid_se`, `kid_mean_se`): shown in its cell."""
    return column.endswith("_se") and report.RENAMED.get(column[:-3], column[:-3]) in table


def _legend(metrics: list[str], repeats: list[int], extra: set[str]) -> str:
    """What the cells hold, and which way is better for each marked column."""
    text = "One row per input. "
    if max(repeats) > 1:
        over = f"{repeats[0]} repeats" if len(repeats) == 1 else "the repeats"
        text += f"Mean ± standard deviation over {over}. "
    held = [what for key, what in (("ci", "[low, high] the interval"), ("se", "se the standard error")) if key in extra]
    if held:
        text += f"Below, as the records hold them (averaged over repeats): {' and '.join(held)}. "
    lower = ", ".join(m for m in metrics if report.direction(m) < 0)
    higher = ", ".join(m for m in metrics if report.direction(m) > 0)
    best = "; ".join(part for part in (lower and f"lowest {lower}", higher and f"highest {higher}") if part)
    if best:
        text += f"Best of each column in bold ({best})."
    return f'<p class="note">{_e(text.strip())}</p>'


def _metric_cell(column: str, mean: Any, std: Any, repeats: int, members: list[dict], best: bool) -> str:
    """`165.2 ± 0` as `ganeval report` prints it, then the interval (averaged over repeats) and the SE."""
    if _missing(mean):
        return f'<td class="num" data-metric="{_e(column)}"></td>'
    text = f'<span class="v">{mean:.4g}</span>'
    if repeats > 1 and not _missing(std):
        text += f'<span class="sd"> ± {std:.2g}</span>'
    if best:
        text = f"<strong>{text}</strong>"
    names = [column] + [k for k, v in report.RENAMED.items() if v == column]
    intervals = [m[f"{n}_ci"] for m in members for n in names if _pair(m.get(f"{n}_ci"))]
    if intervals and len(intervals) == len(members):
        low, high = np.mean([float(v[0]) for v in intervals]), np.mean([float(v[1]) for v in intervals])
        text += f'<span class="ci">[<span class="lo">{low:.4g}</span>, <span class="hi">{high:.4g}</span>]</span>'
    errors = [float(m[f"{n}_se"]) for m in members for n in names if _number(m.get(f"{n}_se"))]
    if errors and len(errors) == len(members):
        text += f'<span class="se">se {np.mean(errors):.2g}</span>'
    return f'<td class="num{" best" if best else ""}" data-metric="{_e(column)}">{text}</td>'


def _settings(record: dict[str, Any]) -> str:
    settings = dict(record.get("settings") or {})
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(_text(v))}</dd>" for k, v in settings.items())
    versions = ", ".join(f"{k} {v}" for k, v in (record.get("versions") or {}).items())
    if versions:
        items += f"<dt>versions</dt><dd>{_e(versions)}</dd><dt>device</dt><dd>{_e(record.get('device'))}</dd>"
    return f"<details><summary>settings</summary><dl>{items}</dl></details>" if items else ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(value != value)  # None, NaN and pandas' NA
    except TypeError:
        return True


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _pair(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(_number(v) for v in value)


def _count(value: Any) -> str:
    return "" if _missing(value) else str(int(value))


# Curves and per-class FIDs ---------------------------------------------------------------------------------------


def _curves(records: list[dict[str, Any]]) -> str:
    """`report --plot`'s figure per group of settings; the standard errors are not curves of their own."""
    out = []
    for _, members, note in _groups(records):
        stepped = [r for r in members if r["input"].get("step") is not None]
        if not stepped:
            continue
        plain = [{**r, "metrics": {k: v for k, v in r["metrics"].items() if not k.endswith("_se")}} for r in stepped]
        with tempfile.TemporaryDirectory() as tmp:
            figure = Path(tmp) / "curves.png"
            report.plot(plain, figure)
            data = figure.read_bytes()
        caption = f"<figcaption>{_e(note)}</figcaption>" if note else ""
        out.append(f'<figure class="curves">{caption}<img alt="metrics against training step" src="{data_uri(data)}">'
                   "</figure>")  # fmt: skip
    return "<h2>Curves</h2>\n" + "\n".join(out) if out else ""


def _per_class(records: list[dict[str, Any]]) -> str:
    """FID per class, classes as rows and inputs as columns (mean over repeats; best of a row in bold)."""
    values: dict[str, dict[str, list[float]]] = {}
    for r in _ok(records):
        per_class = r["metrics"].get("fid_per_class")
        if isinstance(per_class, dict):
            for cls, v in per_class.items():
                if _number(v):
                    values.setdefault(_label(r), {}).setdefault(str(cls), []).append(float(v))
    if not values:
        return ""
    inputs = list(values)
    classes = sorted(
        {c for v in values.values() for c in v}, key=lambda c: (not c.isdigit(), int(c) if c.isdigit() else 0, c)
    )
    head = "".join(f'<th class="num">{_e(i)}</th>' for i in inputs)
    rows = []
    for cls in classes:
        means = {i: float(np.mean(values[i][cls])) for i in inputs if cls in values[i]}
        low = min(means.values()) if len(means) > 1 else None
        cells = []
        for i in inputs:
            text = f"{means[i]:.4g}" if i in means else ""
            cells.append(f'<td class="num">{f"<strong>{text}</strong>" if means.get(i) == low else text}</td>')
        rows.append(f"<tr><th>{_e(cls)}</th>{''.join(cells)}</tr>")
    return (
        f'<h2>FID per class</h2>\n<div class="scroll"><table class="per-class"><thead><tr><th>class</th>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


# Images ----------------------------------------------------------------------------------------------------------


def _samples(records: list[dict[str, Any]], images: InputImages, n: int) -> str:
    """A grid of `n` images per input (the reference first), spread evenly over the input."""
    if n == 0:
        return ""
    wanted: dict[tuple[str, str | None], tuple[str, int]] = {}
    for r in records:
        ref = r.get("reference") or {}
        spec = ref.get("source") if isinstance(ref.get("source"), str) else ref.get("name")
        if isinstance(spec, str):
            wanted.setdefault((spec, None), ("reference", 0))
    for r in records:
        inp = r["input"]
        if inp.get("kind") == "run":
            continue  # a training run's metrics.csv rows: numbers, no images of their own
        what = (inp.get("kind") or "input") + (f" · step {inp['step']}" if inp.get("step") is not None else "")
        wanted.setdefault((inp["path"], inp.get("kind")), (what, int(r.get("seed") or 0)))
    cards = []
    for (spec, kind), (what, seed) in wanted.items():
        caption = f"<code>{_e(spec)}</code> {_e(what)}"
        try:
            indices = images.spread(spec, kind, n)
            data, width, shown = mosaic(list(images.read(spec, kind, seed, indices).values()))
        except Exception as exc:  # whatever breaks an input costs its grid only, never the report
            cards.append(f'<figure class="card unreadable"><figcaption>{caption}</figcaption>{_note(exc)}</figure>')
            continue
        grid = _img(data, width, shown, "samples")
        cards.append(
            f'<figure class="card samples"><figcaption>{caption} · {len(indices)} images</figcaption>{grid}</figure>'
        )
    return '<h2>Samples</h2>\n<div class="cards">\n' + "\n".join(cards) + "\n</div>"


def _note(exc: BaseException) -> str:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f'<p class="note">Cannot show its images: {_e(reason)}</p>'


def _img(data: bytes, width: int, shown: int, alt: str) -> str:
    pixelated = ' class="pixelated"' if shown > width else ""
    return f'<img{pixelated} alt="{_e(alt)}" width="{shown}" src="{data_uri(data)}">'


def _thumb(image: np.ndarray, alt: str) -> str:
    return _img(png(image), image.shape[1], 64, alt)


# Copies ----------------------------------------------------------------------------------------------------------


def _copies(records: list[dict[str, Any]], images: InputImages) -> str:
    """Each generated image beside its nearest training images, for the first record of an input that has them."""
    seen: set[str] = set()
    out = []
    for r in _ok(records):
        copies, path = r.get("copies"), r["input"]["path"]
        if not isinstance(copies, dict) or path in seen:
            continue
        seen.add(path)
        out.append(f"<h3>{_e(_label(r))} <span class=\"meta\">nearest images in <code>{_e(copies.get('train'))}"
                   "</code></span></h3>")  # fmt: skip
        try:
            rows = list(copies.get("rows") or [])[:COPIES_SHOWN]
            fakes = images.read(path, r["input"].get("kind"), int(r.get("seed") or 0), [int(x["fake"]) for x in rows])
            train_ids = sorted({int(j) for x in rows for j in x["train"]})
            train = images.read(str(copies["train"]), None, 0, train_ids)
            out.extend(_copy_row(x, fakes, train) for x in rows)
        except Exception as exc:  # as for the sample grids: a note, never a failed report
            out.append(_note(exc))
            continue
        total = len(copies.get("rows") or [])
        if total > len(rows):
            out.append(f'<p class="note">{len(rows)} of {total} rows shown.</p>')
    return "<h2>Nearest training images</h2>\n" + "\n".join(out) if out else ""


def _copy_row(row: dict[str, Any], fakes: dict[int, np.ndarray], train: dict[int, np.ndarray]) -> str:
    ratio = f" · ratio {float(row['ratio']):.3g}" if _number(row.get("ratio")) else ""
    cells = [f'<figure class="fake">{_thumb(fakes[int(row["fake"])], "generated")}'
             f"<figcaption>generated #{int(row['fake'])}{ratio}</figcaption></figure>"]  # fmt: skip
    for j, d in zip(row["train"], row.get("distances") or [None] * len(row["train"]), strict=True):
        distance = f"d = {float(d):.4g}" if _number(d) else ""
        cells.append(f'<figure>{_thumb(train[int(j)], "training")}<figcaption>train #{int(j)}<br>{distance}'
                     "</figcaption></figure>")  # fmt: skip
    return f'<div class="copy">{"".join(cells)}</div>'


def _failures(records: list[dict[str, Any]]) -> str:
    problems = report.errors(records)
    if not problems:
        return ""
    return '<h2>Failed inputs</h2>\n<ul class="errors">' + "".join(f"<li>{_e(p)}</li>" for p in problems) + "</ul>"
