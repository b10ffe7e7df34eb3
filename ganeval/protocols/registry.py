"""The named protocols: what each fixes (spaces, modes, metric options) and which metric arithmetic it
replaces, so that `--protocol adm` gives the ADM evaluator's numbers, `--protocol stylegan` StyleGAN's.

A protocol fixes what it fixes: a setting given explicitly that contradicts it is refused (see
`ganeval.config.make_settings`). Metrics outside a protocol's list are refused with it, since the suite
does not define them. The arithmetic comes from the modules beside this one, each checked against golden
values produced by the suite's own code (tests/test_protocol_goldens.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ganeval.errors import InputError, check

Compute = Callable[[Any, Any, Any], dict[str, Any]]  # (real view side, fake view side, settings) -> keys


@dataclass(frozen=True)
class Protocol:
    name: str
    reproduces: str  # the suite, its file and the commit the goldens came from
    metrics: tuple[str, ...] | None  # the metrics it defines (None: every ganeval metric)
    fixes: dict[str, Any]  # Settings fields it sets; "modes" is {space or network: mode}
    about: str  # what it fixes, one line
    computations: dict[str, str] = field(default_factory=dict)  # metric -> "module:function" (lazy: no torch here)

    def compute(self, metric: str) -> Compute | None:
        target = self.computations.get(metric)
        if target is None:
            return None
        import importlib

        module, function = target.split(":")
        return getattr(importlib.import_module(module), function)


_HERE = "ganeval.protocols.compute"
PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol(
            "ganeval", "ganeval's defaults: torch-fidelity 0.4.0's FID/IS/KID/prc arithmetic on Inception, prdc's "
            "density/coverage", None, {},
            "nothing beyond the defaults: every metric, every space, every mode",
        ),
        Protocol(
            "adm", "openai/guided-diffusion evaluations/evaluator.py (22e0df81)", ("is", "fid", "sfid", "pr"),
            {"modes": {"inception": "tf"}, "features": "inception", "pr_k": 3},
            "Inception tf; FID/sFID with np.cov and the TTUR sqrtm; IS in chunks of 5,000 unshuffled, mean only; "
            "precision/recall k=3 on pool3 with float16 squared distances, <=; reads ADM batch .npz files",
            {"fid": f"{_HERE}:adm_fd", "sfid": f"{_HERE}:adm_fd", "is": f"{_HERE}:adm_is", "pr": f"{_HERE}:adm_pr"},
        ),
        Protocol(
            "edm2", "NVlabs/edm2 calculate_metrics.py (4bf8162f)", ("fid", "fd_dinov2"),
            {"modes": {"inception": "tf", "dinov2-vit-l-14": "edm2"}},
            "Inception tf and DINOv2 ViT-L/14 edm2; float64 sums, N-1 covariance, scipy sqrtm; reads EDM2 .pkl "
            "references",
            {"fid": f"{_HERE}:nvlabs_fd", "fd_dinov2": f"{_HERE}:nvlabs_fd"},
        ),
        Protocol(
            "stylegan", "NVlabs/stylegan3 metrics/ (c233a919), as StyleGAN2-ADA", ("fid", "kid", "pr", "is"),
            {"modes": {"inception": "tf", "vgg16": "tf"}, "features": "vgg16", "pr_k": 3, "is_splits": 10,
             "kid_subsets": 100, "kid_subset_size": 1000},
            "fid50k_full with the covariance divided by N; kid50k_full's estimator; pr50k3_full on VGG16 fc2 with "
            "float16 distances; is50k with 10 splits, unshuffled",
            {"fid": f"{_HERE}:stylegan_fd", "kid": f"{_HERE}:stylegan_kd", "pr": f"{_HERE}:stylegan_pr",
             "is": f"{_HERE}:stylegan_is"},
        ),
        Protocol(
            "clean-fid", "GaParmar/clean-fid 0.1.35 (fid.py)", ("fid", "kid", "fd"),
            {"modes": {"inception": "clean", "clip-vit-b-32": "clean"}},
            "Inception in clean mode; its FID (float32 mean, np.cov, TTUR sqrtm) and KID; CLIP-FID as fd with "
            "--features clip-vit-b-32 (clean CLIP mode)",
            {"fid": f"{_HERE}:cleanfid_fd", "fd": f"{_HERE}:cleanfid_fd", "kid": f"{_HERE}:cleanfid_kd"},
        ),
        Protocol(
            "torch-fidelity", "toshas/torch-fidelity 0.4.0 defaults", ("fid", "kid", "is", "pr"),
            {"modes": {"inception": "tf", "vgg16": "tf"}, "features": "vgg16", "pr_k": 3, "is_splits": 10,
             "kid_subsets": 100, "kid_subset_size": 1000, "seed": 2020},
            "Inception tf for FID/KID/IS (its seeded splits and subsets), prc on VGG16 fc2_relu, its input order "
            "(generated first) and float32 distances",
        ),
    )
}  # fmt: skip


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise InputError(f"unknown protocol {name!r}; choose from {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def check_metrics(protocol: str, metrics: tuple[str, ...]) -> None:
    """Refuse metrics the protocol's suite does not define."""
    p = get_protocol(protocol)
    if p.metrics is None:
        return
    outside = [m for m in metrics if m not in p.metrics]
    check(not outside, f"--protocol {p.name} defines {', '.join(p.metrics)}; {', '.join(outside)} is not part of it")
