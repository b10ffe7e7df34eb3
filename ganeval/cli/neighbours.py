"""`ganeval neighbours TRAIN FAKE`: which generated images copy training images, shown and listed."""

from __future__ import annotations

import json
from typing import Any

import click

from ganeval.cli.errors import friendly_errors
from ganeval.cli.options import metric_options, real_fake, source_options, store_options
from ganeval.cli.precheck import precheck


@click.command("neighbours")
@click.argument("inputs", nargs=-1, metavar="TRAIN FAKE")
@click.option("--out", "image", type=click.Path(dir_okay=False), default=None,
              help="PNG grid: each likely copy beside its nearest training images, with distances.")  # fmt: skip
@click.option("--top", type=click.IntRange(min=1), default=32, show_default=True, help="Generated images shown.")
@click.option("-k", "--neighbours", "k", type=click.IntRange(min=1), default=3, show_default=True,
              help="Nearest training images per generated image.")  # fmt: skip
@click.option("--samples", type=click.IntRange(min=2), default=10_000, show_default=True,
              help="Images drawn when FAKE is a baseline checkpoint.")  # fmt: skip
@metric_options
@source_options
@friendly_errors()
def neighbours_command(inputs: tuple[str, ...], image: str | None, top: int, k: int, samples: int, ref: str | None,
                       as_json: bool, quiet: bool, **options: Any) -> None:  # fmt: skip
    """The generated images of FAKE likeliest to copy an image of TRAIN: those with the smallest ratio of their
    distance to the nearest training image over that image's own nearest-neighbour distance (AuthPct's
    quantity; below 1 a generated image is nearer a training image than any other training image is).

    Prints (or with --json writes) the generated index, its nearest training indices, distances and ratio;
    --out draws them. Features come from the --features space (default inception) through the cache, and
    the search is blockwise, so memory stays bounded for large training sets.
    """
    train, fake = real_fake(inputs, ref, ("TRAIN", "FAKE"))
    options = store_options(options)
    precheck([train, fake], None, options)  # before torch is imported
    from ganeval import api
    from ganeval.baselines.cli import is_checkpoint
    from ganeval.cli.checkpoints import checkpoint_input

    if is_checkpoint(fake):
        fake, _ = checkpoint_input(fake, samples, None, options["seed"], options["device"])
    options.pop("seed")
    found = api.neighbours(train, fake, top=top, k=k, image=image, progress=not quiet, **options)
    if as_json:
        click.echo(json.dumps(found))
        return
    click.echo(f"generated  ratio     nearest training images (distance)   [{found['features']}]")
    for i, ratio, train_rows, distances in zip(found["fake"], found["ratio"], found["train"], found["distances"],
                                               strict=True):  # fmt: skip
        near = ", ".join(f"{j} ({d:.4g})" for j, d in zip(train_rows, distances, strict=True))
        click.echo(f"{i:9d}  {ratio:8.4g}  {near}")
    if image:
        click.echo(f"ganeval: wrote {image}", err=True)
