"""Print how far ganeval's protocol arithmetic is from the numbers the suites' own code printed.

    python tools/golden_report.py

The goldens (tests/fixtures/protocols/expected.json) were printed by the ADM evaluator, EDM2, StyleGAN3 and
clean-fid on the committed inputs; each row is one of them beside ganeval's value on the same input and the
relative difference. The tests (tests/test_protocol_goldens.py) assert the same comparisons with bounds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganeval.protocols import adm, cleanfid, edm2, stylegan  # noqa: E402
from tests.test_protocol_goldens import EXPECTED, INPUTS, fx  # noqa: E402  (the tests' own loading of the goldens)


def main() -> None:
    expected, inputs = EXPECTED, INPUTS
    rows: list[tuple[str, str, float, float]] = []

    def add(suite: str, what: str, ours: float, theirs: float) -> None:
        rows.append((suite, what, float(ours), float(theirs)))

    g = expected["adm"]["values"]
    logits = fx.logits_like()
    add("adm", "IS, chunks of 5000", adm.adm_inception_score(logits, split_size=5000), g["is_split5000"])
    add("adm", "IS, chunks of 3000", adm.adm_inception_score(logits, split_size=3000), g["is_split3000"])
    add("adm", "IS, 600 images", adm.adm_inception_score(logits[:600]), g["is_600_images"])
    ref = adm.read_adm_batch(fx.ADM_REF_BATCH)
    (mu, sigma), (mu_s, sigma_s) = ref.stats
    mu_b, sigma_b = adm.numpy_statistics(inputs["fid_b"])
    mu_bs, sigma_bs = adm.numpy_statistics(inputs["sfid_b"])
    add(
        "adm", "FID against the reference batch", adm.ttur_frechet_distance(mu_b, sigma_b, mu, sigma), g["fid_ref_file"]
    )
    add("adm", "sFID against the reference batch", adm.ttur_frechet_distance(mu_bs, sigma_bs, mu_s, sigma_s),
        g["sfid_ref_file"])  # fmt: skip
    for case in fx.PR_CASES:
        rows_, cols = fx.PR_CASES[case]["batch"]
        a, b = fx.pr_set(case, "ref"), fx.pr_set(case, "samples")
        radii_a = adm.adm_manifold_radii(a, row_batch_size=rows_, col_batch_size=cols, device="cpu")
        radii_b = adm.adm_manifold_radii(b, row_batch_size=rows_, col_batch_size=cols, device="cpu")
        m = adm.adm_membership(a, radii_a, b, radii_b, rows_, cols, device="cpu")
        add("adm", f"precision, float16 case {case}", m.precision[0], g[f"pr_{case}"]["precision"])
        add("adm", f"recall, float16 case {case}", m.recall[0], g[f"pr_{case}"]["recall"])

    g = expected["edm2"]["values"]
    ref = edm2.read_edm2_reference(fx.EDM2_REF_PKL)
    for metric, key in (("fid", "fid_b"), ("fd_dinov2", "sfid_b")):
        mu, sigma, _ = edm2.edm2_statistics(inputs[key])
        add("edm2", f"{metric} against its reference .pkl", edm2.edm2_frechet_distance(mu, sigma, *ref.stats[metric]),
            g["from_pkl"][metric])  # fmt: skip

    g = expected["stylegan"]["values"]
    add("stylegan", "fid (covariance / N)", stylegan.stylegan_fid(inputs["fid_a"], inputs["fid_b"]), g["fid"])
    for key, subsets, size in (("kid_default", 100, 1000), ("kid_subsets50_size100", 50, 100)):
        kid = stylegan.stylegan_kid(inputs["fid_a"], inputs["fid_b"], subsets, size, seed=fx.KID_SEED)
        add("stylegan", f"kid, {subsets} subsets of {size}", kid, g[key])
    pr = stylegan.stylegan_precision_recall(fx.pr_set("main", "ref"), fx.pr_set("main", "samples"), device="cpu")
    add("stylegan", "precision (float16 cdist)", pr[0], g["pr_main"]["precision"])
    add("stylegan", "recall (float16 cdist)", pr[1], g["pr_main"]["recall"])
    mean, std = stylegan.stylegan_inception_score(logits[: fx.SG3_IS_IMAGES])
    add("stylegan", "IS mean, 10 splits", mean, g["is"]["mean"])
    add("stylegan", "IS std, 10 splits", std, g["is"]["std"])

    g = expected["cleanfid"]["values"]
    add("clean-fid", "fid", cleanfid.cleanfid_fid(inputs["fid_a"], inputs["fid_b"]), g["fid"])
    for key, subsets, size in (("kid_default", 100, 1000), ("kid_subsets50_size100", 50, 100)):
        kid = cleanfid.cleanfid_kid(inputs["fid_a"], inputs["fid_b"], subsets, size, seed=fx.KID_SEED)
        add("clean-fid", f"kid, {subsets} subsets of {size}", kid, g[key])

    print("| suite | value | ganeval | suite's code | relative difference |")
    print("|---|---|---|---|---|")
    for suite, what, ours, theirs in rows:
        rel = abs(ours - theirs) / abs(theirs) if theirs else abs(ours - theirs)
        print(f"| {suite} | {what} | {ours:.10g} | {theirs:.10g} | {rel:.1e} |")
    commits = {s: expected[s].get("commit", expected[s].get("environment", {}).get("clean-fid")) for s in
               ("adm", "edm2", "stylegan", "cleanfid")}  # fmt: skip
    print("\nsuites:", ", ".join(f"{s} {c}" for s, c in commits.items()))
    assert np.isfinite([r[2] for r in rows]).all()


if __name__ == "__main__":
    main()
