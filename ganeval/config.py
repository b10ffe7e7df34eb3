"""Every default of the metrics in one place: the API and the CLI both read them from here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ganeval.errors import InputError, check
from ganeval.features.spaces import SPACES, check_mode, get_network, get_space, parse_space

KEY_FID = "fid"
KEY_IS_MEAN = "is_mean"
KEY_IS_STD = "is_std"
KEY_KID_MEAN = "kid_mean"
KEY_KID_STD = "kid_std"
KEY_PRECISION = "precision"
KEY_RECALL = "recall"
KEY_DENSITY = "density"
KEY_COVERAGE = "coverage"
KEY_INTRA_FID = "intra_fid"  # the mean over classes of the per-class FIDs
KEY_FID_PER_CLASS = "fid_per_class"  # {class: FID}
KEY_N_REAL = "n_real"  # images (or statistics' count) of the reference, the first of two inputs
KEY_N_FAKE = "n_fake"  # images of the generated set, the second of two inputs or the only one

# Metric names (ganeval.results.REGISTRY says what each reads); the space-generic ones (fd, kd, pr, dc,
# intra_fd) read the --features space, the others their own.
METRICS = ("fid", "is", "kid", "pr", "dc", "intra_fid", "fd", "kd", "intra_fd", "sfid", "fd_dinov2", "cmmd", "fd_inf",
           "vendi", "authpct", "ct", "sw", "mifid", "rarity")  # fmt: skip

# Choices of the settings below, here so that the command line offers them without importing torch.
# Bootstrap intervals: the percentiles of the resampled values; the basic interval 2 * value - percentiles,
# which reflects them about the value and so corrects a bias the resamples share (FID's 1/N bias); normal,
# value +- 1.96 se; auto: basic for the Fréchet distances, normal for the rest (what covered in docs/validity.md).
INTERVAL_METHODS = ("auto", "percentile", "basic", "normal")
MODES = ("tf", "pytorch", "clean")  # ganeval.inception.preprocess
PRECISIONS = ("exact", "strict", "tf32", "fp16", "bf16")  # ganeval.inception.precision
PRECISION_ALIASES = {"fast": "bf16"}
PRECISION_CHOICES = ("default", "fast", *PRECISIONS)


@dataclass(frozen=True)
class Settings:
    """How images become numbers. Defaults reproduce torch-fidelity's (and the TF code's) protocol."""

    protocol: str = "ganeval"  # a named suite's conventions (ganeval.protocols.registry): fixes what it fixes
    features: str = "inception"  # the space of fd, kd, pr, dc and intra_fd ("SPACE" or "SPACE:LAYER")
    mode: str | None = None  # preprocessing of the --features space's network; None: each space's default
    modes: tuple[tuple[str, str], ...] = ()  # (space or network, mode) for a given space
    batch_size: int | None = None  # None: 500 on a GPU for Inception, 256 for the others; 32 on the CPU
    precision: str = "default"  # default | fast | strict | tf32 | fp16 | bf16 (ganeval.inception.precision)
    device: str | None = None  # None: CUDA when available
    workers: int | None = None  # decoding processes; 0 = the main process; None = ganeval.loader.auto_workers
    weights: str | None = None  # one weights file: of the one network the call uses (see weights_for)
    space_weights: tuple[tuple[str, str], ...] = ()  # (space or network, file) for a given network
    skip_bad: bool = False  # skip undecodable images (counted) instead of failing
    progress: bool = True  # progress bars on stderr
    distributed: bool = False  # shard extraction over the initialised torch.distributed process group (no cache)
    fid_method: str = "eig"  # eig: eigenvalues of S1 S2 in float64 torch; sqrtm: scipy.linalg.sqrtm
    is_splits: int = 10
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    kid_degree: int = 3
    pr_k: int = 3  # precision/recall: k-th neighbour radii, `<=` (torch-fidelity's and StyleGAN's rule)
    dc_k: int = 5  # density/coverage: k-th neighbour radii, `<` (the prdc package's rule)
    knn_samples: int | None = None  # k-NN metrics on a seeded subsample of each set; None: every image
    seed: int = 2020  # torch-fidelity's default seed for the IS shuffle and the KID subsets
    bootstrap: int = 0  # resamples for <key>_ci and <key>_se of every metric (0: none)
    bootstrap_interval: str = "auto"  # percentile, basic, normal, or auto (INTERVAL_METHODS)

    @property
    def features_space(self) -> str:
        return self.features.partition(":")[0]

    def mode_for(self, space: str) -> str:
        """The preprocessing mode of `space`: given for it (or its network), else `mode` when the space reads
        the --features space's network, else the space's default."""
        spec = get_space(space)
        given = dict(self.modes)
        for key in (spec.name, spec.network):
            if key in given:
                return check_mode(spec.name, given[key])
        if self.mode is not None and spec.network == get_space(self.features_space).network:
            return check_mode(spec.name, self.mode)
        return spec.default_mode

    def weights_for(self, network: str, networks_in_call: tuple[str, ...] = ()) -> str | None:
        """The weights file given for `network` (by its name or a space's); a single `weights` file belongs to
        the one network of the call, and is refused as ambiguous when the call reads several."""
        for key, path in self.space_weights:
            if get_network(key).name == network:
                return path
        if self.weights is None:
            return None
        others = sorted(set(networks_in_call) - {network})
        if others:
            raise InputError(
                f"--weights FILE is ambiguous: this call reads {', '.join(sorted({network, *others}))}; "
                "give --weights NAME=FILE for each"
            )
        return self.weights


def _apply_protocol(settings: Settings, explicit: dict[str, object]) -> Settings:
    """`settings` with what its protocol fixes; an explicit setting that contradicts the protocol is refused."""
    from ganeval.protocols.registry import get_protocol

    protocol = get_protocol(settings.protocol)

    def refuse(what: str, given: object, fixed: object) -> None:
        raise InputError(f"--protocol {protocol.name} fixes {what} to {fixed}; {given} contradicts it")

    changes: dict[str, object] = {}
    features = protocol.fixes.get("features", settings.features)
    if "features" in explicit and explicit["features"] != features:
        refuse("--features", f"--features {explicit['features']}", features)
    modes = dict(settings.modes)
    for space, mode in protocol.fixes.get("modes", {}).items():
        network = get_network(space).name
        given = [m for k, m in modes.items() if get_network(k).name == network]
        if settings.mode is not None and get_network(parse_space(str(features))[0]).name == network:
            given.append(settings.mode)
        for other in given:
            if other != mode:
                refuse(f"the {space} mode", f"--mode {other}", mode)
        modes[space] = mode
    changes["modes"] = tuple(sorted(modes.items()))
    for key, value in protocol.fixes.items():
        if key in ("modes",):
            continue
        if key in explicit and explicit[key] != value and key != "features":
            refuse(f"--{key.replace('_', '-')}", f"{explicit[key]}", value)
        changes[key] = value
    return replace(settings, **changes)


def _pairs(value: Mapping[str, object] | tuple[tuple[str, object], ...]) -> tuple[tuple[str, str], ...]:
    """A {space or network: value} mapping (or pairs) as sorted pairs, each name checked against the registry."""
    items = dict(value.items() if isinstance(value, Mapping) else value)
    for name in items:
        get_network(name)  # an unknown name is an error here, not at the first pass
    return tuple(sorted((str(k), str(v)) for k, v in items.items()))


def make_settings(base: Settings | None = None, **overrides) -> Settings:
    """`base` with `overrides` applied; a misspelled option is an error, never silently ignored.

    `mode` and `weights` take one value or a {space: value} mapping (`--mode SPACE=MODE`,
    `--weights NAME=FILE`); mappings go to `modes` and `space_weights`.
    """
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if isinstance(overrides.get("mode"), Mapping):
        overrides["modes"] = overrides.pop("mode")
    if isinstance(overrides.get("weights"), Mapping):
        overrides["space_weights"] = overrides.pop("weights")
    for key in ("modes", "space_weights"):
        if key in overrides:
            overrides[key] = _pairs(overrides[key])
    if overrides.get("weights") is not None:
        overrides["weights"] = str(overrides["weights"])
    settings = replace(base or Settings(), **overrides)
    if settings.protocol != "ganeval":
        defaults = Settings()
        settings = _apply_protocol(settings, {k: v for k, v in overrides.items() if v != getattr(defaults, k)})
    parse_space(settings.features)  # an unknown space or layer fails here
    for name, mode in settings.modes:
        choices = sorted({m for s in SPACES.values() if name in (s.name, s.network) for m in s.modes})
        check(mode in choices, f"mode {mode!r} is not one of {name}'s: {', '.join(choices)}")
    if settings.mode is not None:
        check_mode(settings.features_space, settings.mode)
    method = settings.bootstrap_interval
    check(method in INTERVAL_METHODS, f"bootstrap_interval {method!r} is not one of {', '.join(INTERVAL_METHODS)}")
    return settings


def settings_from(options: Mapping[str, Any]) -> Settings:
    """The `Settings` that a mapping of keyword options describes: the keys that name a setting and are not
    None (others belong to the caller: inputs, progress, cache), validated by `make_settings`."""
    known = {f.name for f in fields(Settings)}
    return make_settings(**{k: v for k, v in options.items() if k in known and v is not None})
