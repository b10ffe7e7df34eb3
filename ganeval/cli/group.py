"""The `ganeval` group: every command registered in one place.

Errors a user can cause print one line on stderr and exit with status 1; usage errors exit with 2.
"""

from __future__ import annotations

import click

from ganeval._version import __version__
from ganeval.baselines.cli import train_baseline
from ganeval.cli.bench import benchmark_command, report_command
from ganeval.cli.metrics import fid_command, is_command, kid_command, score_command, stats_command
from ganeval.cli.neighbours import neighbours_command
from ganeval.cli.options import CONVENTION
from ganeval.cli.store import cache_group, protocols_command, refs_group, spaces_command, weights_group


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    help=f"""Evaluate generative image
    models: FID, IS, KID, precision/recall, density/coverage, FD_DINOv2, CMMD, sFID in the feature spaces
    of the published suites (`ganeval spaces`), agreeing with torch-fidelity, pytorch-fid, clean-fid, EDM2.

    {CONVENTION}

    An input is an image folder (searched recursively for png, jpg, jpeg, webp, bmp, in sorted order), a
    zip or tar archive of images, a .npy/.npz uint8 image array, a named dataset (mnist:test,
    fashion-mnist:train, cifar10:test, cifar10-jpeg:train), any of these sliced (mnist:train[:5000]), or a
    statistics file written by `ganeval stats` or pytorch-fid (FID only). Statistics and features are
    cached (`ganeval cache --help`). The first run of a space fetches its network's weights.
    """,
)
@click.version_option(__version__, prog_name="ganeval")
def main() -> None:
    pass


for command in (fid_command, kid_command, is_command, score_command, stats_command, benchmark_command,
                report_command, neighbours_command, weights_group, spaces_command, protocols_command, cache_group,
                refs_group, train_baseline):  # fmt: skip
    main.add_command(command)

if __name__ == "__main__":
    main()
