"""`ganeval.html_report`: one self-contained page, checked as text and opened in a real headless Chromium.

The records are real: a `ganeval benchmark` run on CIFAR-10 folders (two repeats), plus a second group of
settings for a real training run's checkpoints whose records also carry intervals, per-class FIDs and the
copies view, an input that no longer exists and an error whose strings are hostile HTML. The browser test
drives Debian's chromium through chromedriver (selenium, no browser download) and reads its console and
network logs, then compares the table as rendered with values computed here from the JSON lines.

`python -m tests.test_html_report RECORDS.jsonl OUT.png` writes the report of RECORDS and its screenshot
(docs/report_example.png is made so, from the README's benchmark example).
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from ganeval.disturbances import disturb
from ganeval.errors import InputError
from ganeval.html_report import write_html_report
from ganeval.records import RecordWriter, read_records
from tests.conftest import data_root, run_cli, write_folder

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
HOSTILE = "<img src=x onerror=alert(1)>"
GONE = "gone <b>&\"'"  # a folder named in a record that is not there any more
LOWER, HIGHER = {"fid", "kid"}, {"precision"}  # which way is better, as the test knows it
N = 6  # images per folder: the network runs on 3 N images


@pytest.fixture(scope="module")
def records_file(cifar_images, tmp_path_factory, weights_with_head) -> Path:
    if not (data_root() / "fashion-mnist").is_dir():
        pytest.skip("fashion-mnist not found (set GANEVAL_DATA)")
    base = tmp_path_factory.mktemp("html")
    reference = write_folder(cifar_images[:N], base / "reference")
    clean = write_folder(cifar_images[N : 2 * N], base / "clean")
    noisy = write_folder(disturb("gaussian_noise", cifar_images[N : 2 * N], 0.5, seed=0), base / "noisy")
    out = base / "records.jsonl"
    code, _, err = run_cli("benchmark", str(reference), str(clean), str(noisy), "--out", str(out), "--metrics",
                           "fid,kid", "--subset-size", "3", "--subsets", "4", "--repeats", "2", "--device", "cpu",
                           "--weights", str(weights_with_head), "-q")  # fmt: skip
    assert code == 0, err
    run = base / "run"
    code, _, err = run_cli("train-baseline", "gan", "--dataset", "fashion-mnist", "--width", "0.0625", "--batch-size",
                           "8", "--eval-samples", "0", "--steps", "1", "--out", str(run), "--data-root",
                           str(data_root()), "--device", "cpu", "-q")  # fmt: skip
    assert code == 0, err
    shutil.copy(run / "last.pt", run / "step1.pt")
    writer = RecordWriter(out)
    study = {"weights_sha256": "w-study", "mode": "clean", "note": HOSTILE}
    for step, path, fid in ((1, run / "step1.pt", 300.0), (2, run / "last.pt", 250.0)):
        for repeat in (0, 1):
            value = fid + 7 * repeat
            metrics = {"n_real": 10, "n_fake": 32, "fid": value, "fid_ci": [value - 10, value + 12], "fid_se": 5.5,
                       "kid_mean": 0.1 / step, "kid_std": 0.01, "kid_mean_ci": [0.05 / step, 0.2 / step],
                       "precision": 0.1 * step + 0.01 * repeat,
                       "fid_per_class": {"0": value - 1, "1": value + 1}}  # fmt: skip
            record = {"status": "ok", "error": None, "repeat": repeat, "seed": 2020 + repeat, "metrics": metrics,
                      "input": {"path": str(path), "kind": "checkpoint", "step": step, "run": str(run)},
                      "reference": {"name": str(reference)}, "settings": study, "settings_key": "study"}  # fmt: skip
            if step == 2:
                rows = [{"fake": 0, "train": [3, 1, 4], "distances": [1.5, 2.25, 3.0], "ratio": 0.5},
                        {"fake": 5, "train": [5, 2, 0], "distances": [2.0, 2.5, 4.125], "ratio": 0.8}]  # fmt: skip
                record["copies"] = {"train": str(reference), "rows": rows}
            writer.write(record)
    gone = {"path": str(base / GONE), "kind": "folder", "step": None}
    writer.write({"status": "ok", "error": None, "repeat": 0, "seed": 2020, "input": gone, "settings": study,
                  "metrics": {"n_real": 10, "n_fake": 10, "fid": 400.0, "kid_mean": 0.5, "precision": 0.05},
                  "settings_key": "study"})  # fmt: skip
    writer.write({"status": "error", "error": f"cannot decode {HOSTILE}", "repeat": 0, "settings_key": "study",
                  "input": {"path": HOSTILE, "kind": "folder", "step": None}, "settings": study,
                  "metrics": None})  # fmt: skip
    return out


@pytest.fixture(scope="module")
def page(records_file, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("page") / "report.html"
    assert write_html_report(read_records(records_file), path, title="study <1>") == path
    return path


def expected_rows(records: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, dict[str, float]]]:
    """(settings_key, input, step) -> metric -> mean, std, repeats n, and low, high, se where the records hold
    them, computed here from the JSON records."""
    cells: dict[tuple[str, str, str], dict[str, dict[str, list[Any]]]] = {}
    for r in records:
        if r["status"] != "ok":
            continue
        step = "" if r["input"]["step"] is None else str(r["input"]["step"])
        row = cells.setdefault((r["settings_key"], r["input"]["path"], step), {})
        for key, value in r["metrics"].items():
            name, part = key, "value"
            if key.endswith(("_ci", "_se")):
                name, part = key[:-3], key[-2:]
            elif not isinstance(value, float) or key.endswith("_std"):
                continue
            row.setdefault({"kid_mean": "kid"}.get(name, name), {}).setdefault(part, []).append(value)
    out: dict[tuple[str, str, str], dict[str, dict[str, float]]] = {}
    for key, row in cells.items():
        out[key] = {}
        for metric, parts in row.items():
            v = parts["value"]
            want = out[key][metric] = {"mean": statistics.fmean(v), "std": statistics.pstdev(v), "n": len(v)}
            if "ci" in parts:
                want.update(
                    low=statistics.fmean(x[0] for x in parts["ci"]), high=statistics.fmean(x[1] for x in parts["ci"])
                )
            if "se" in parts:
                want["se"] = statistics.fmean(parts["se"])
    return out


def printed(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


# Without a browser -------------------------------------------------------------------------------------------------


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_page_is_self_contained_and_escapes_what_the_records_say(page):
    text = page.read_text(encoding="utf-8")
    parser = Tags()
    parser.feed(text)
    names = [tag for tag, _ in parser.tags]
    assert "script" not in names and "link" not in names and "iframe" not in names
    for tag, attrs in parser.tags:
        for name, value in attrs.items():
            assert not re.match(r"\s*(https?:|//)", value or ""), (tag, name, value)  # no resource elsewhere
    assert not re.search(r"url\(|@import", text)
    images = [attrs["src"] for tag, attrs in parser.tags if tag == "img"]
    assert len(images) >= 4 + 1 + 2 * 4  # grids (reference, 2 folders, 2 checkpoints), curves, copies
    for src in images:
        assert src.startswith("data:image/png;base64,")
        Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).verify()
    assert HOSTILE not in text and "<b>&" not in text and "<1>" not in text  # never markup, from any field
    assert html_escape(HOSTILE) in text and html_escape(GONE) in text and "study &lt;1&gt;" in text
    assert text.count("Cannot show its images") == 2  # the folder that is gone, the error path: notes
    assert text.count('class="copy"') == 2 and 'class="per-class"' in text and "Curves" in text


def test_the_copies_view_shows_the_training_images_the_records_name(page, cifar_images):
    text = page.read_text(encoding="utf-8")
    shown = re.findall(
        r'<img[^>]* alt="training"[^>]* src="data:image/png;base64,([^"]+)"><figcaption>train #(\d+)', text
    )
    assert [int(j) for _, j in shown] == [3, 1, 4, 5, 2, 0]
    for data, j in shown:
        assert (np.asarray(Image.open(io.BytesIO(base64.b64decode(data)))) == cifar_images[int(j)]).all()
    fakes = re.findall(
        r'<img[^>]* alt="generated"[^>]* src="data:image/png;base64,([^"]+)"><figcaption>generated #(\d+)', text
    )
    assert [int(i) for _, i in fakes] == [0, 5]
    assert all(Image.open(io.BytesIO(base64.b64decode(data))).size == (28, 28) for data, _ in fakes)  # fashion-mnist
    assert "d = 4.125" in text and "ratio 0.8" in text


def html_escape(value: str) -> str:
    import html

    return html.escape(value, quote=True)


def test_nothing_to_report_is_a_user_error(tmp_path):
    with pytest.raises(InputError, match="no records"):
        write_html_report([], tmp_path / "r.html")


# In Chromium -------------------------------------------------------------------------------------------------------


def open_browser(width: int = 1200, height: int = 900) -> Any:
    """Debian's headless chromium under its own chromedriver (selenium never looks for or fetches a driver)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars", f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
                 f"--window-size={width},{height}"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def screenshot(driver: Any, path: Path, width: int = 1200) -> Path:
    """The whole page, `width` CSS pixels wide, as PNG."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.skip(f"no {CHROMIUM} / {CHROMEDRIVER}: apt-get install chromium chromium-driver (see .ci/run)")
    driver = open_browser()
    yield driver
    driver.quit()


READ_TABLES = """
return Array.from(document.querySelectorAll('table.metrics')).map(t => ({
  key: t.dataset.settings,
  rows: Array.from(t.querySelectorAll('tbody tr')).map(tr => ({
    input: tr.dataset.input, step: tr.dataset.step,
    cells: Array.from(tr.querySelectorAll('td[data-metric]')).map(td => {
      const get = c => { const e = td.querySelector(c); return e ? e.textContent : null; };
      return {metric: td.dataset.metric, best: td.classList.contains('best'), bold: !!td.querySelector('strong'),
              v: get('.v'), sd: get('.sd'), lo: get('.lo'), hi: get('.hi'), se: get('.se')};
    })}))}));
"""


def test_chromium_renders_the_page_without_errors_and_the_table_holds_the_records(browser, page, records_file,
                                                                                  tmp_path):  # fmt: skip
    browser.get("about:blank")
    browser.get_log("browser"), browser.get_log("performance")  # drained: the browser's own start page is not ours
    browser.get(page.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    logged = browser.get_log("browser")
    assert not [e for e in logged if e["level"] in ("SEVERE", "WARNING")], logged  # console errors, failed loads
    events = [json.loads(e["message"])["message"] for e in browser.get_log("performance")]
    sent = {e["params"]["requestId"]: e["params"] for e in events if e["method"] == "Network.requestWillBeSent"}
    ours = {i: p["request"]["url"] for i, p in sent.items() if p.get("documentURL") == page.as_uri()}
    assert {u for u in ours.values() if not u.startswith("data:")} == {page.as_uri()}  # nothing but the file itself
    assert len(ours) > 10  # the file and its images, as the log saw them
    failed = [
        e["params"] for e in events if e["method"] == "Network.loadingFailed" and e["params"]["requestId"] in ours
    ]
    assert not failed, failed
    assert browser.execute_script("return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert browser.execute_script("return document.images.length") >= 13
    assert HOSTILE in browser.find_element("css selector", "ul.errors").text  # shown as text, not run
    assert browser.title == "study <1>"

    expected = expected_rows(read_records(records_file))
    tables = browser.execute_script(READ_TABLES)
    seen = set()
    for table in tables:
        rows = {(table["key"], row["input"], row["step"]): row for row in table["rows"]}
        for key, row in rows.items():
            want = expected[key]
            seen.add(key)
            assert {c["metric"] for c in row["cells"]} == set(want)
            for cell in row["cells"]:
                w = want[cell["metric"]]
                assert float(cell["v"]) == printed(w["mean"]), (key, cell)
                assert (cell["sd"] is not None) == (w["n"] > 1)
                if cell["sd"] is not None:
                    assert float(cell["sd"].replace("±", "")) == printed(w["std"], 2), (key, cell)
                if "low" in w:
                    assert (float(cell["lo"]), float(cell["hi"])) == (printed(w["low"]), printed(w["high"]))
                else:
                    assert cell["lo"] is None
                if "se" in w:
                    assert float(cell["se"].removeprefix("se ")) == printed(w["se"], 2), (key, cell)
                else:
                    assert cell["se"] is None
        for metric in (LOWER | HIGHER) & {c["metric"] for row in rows.values() for c in row["cells"]}:
            ranked = sorted(  # the best row of each column, in bold
                rows, key=lambda k: expected[k][metric]["mean"] * (1 if metric in LOWER else -1)
            )
            marked = [k for k, row in rows.items() for c in row["cells"] if c["metric"] == metric and c["best"]]
            assert marked == ranked[:1], (metric, marked)
            assert all(c["bold"] == c["best"] for row in rows.values() for c in row["cells"])
    assert seen == set(expected)  # every (settings, input, step) with a successful record has its row

    per_class = browser.find_element("css selector", "table.per-class").text
    for value in ("252.5", "254.5", "302.5", "304.5"):  # classes 0 and 1 at steps 2 and 1: fid -+ 1, two repeats
        assert value in per_class
    png = screenshot(browser, tmp_path / "page.png")
    image = Image.open(png)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    assert image.size == (1200, height) and height > 1500
    assert len(image.convert("RGB").getcolors(1 << 24)) > 1000  # the page drew, images and all


def main(records: str, out: str, width: int = 1200) -> None:
    """The report of `records` and a full-page screenshot of it, shrunk to 256 colours to stay small."""
    with tempfile.TemporaryDirectory() as tmp:
        page = write_html_report(read_records(records), Path(tmp) / "report.html")
        driver = open_browser(width)
        try:
            driver.get(page.as_uri())
            shot = screenshot(driver, Path(tmp) / "shot.png", width)
        finally:
            driver.quit()
        Image.open(shot).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(out, optimize=True)
    print(f"{out}: {Path(out).stat().st_size // 1024} KB")


if __name__ == "__main__":
    main(*sys.argv[1:3])
