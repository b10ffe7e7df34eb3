"""A *view*: one space, one layer of it, one preprocessing mode. What a metric reads, and what the
extraction loop, the cache and statistics files are keyed by (torch-free).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ganeval.features.spaces import get_space


@dataclass(frozen=True, order=True)
class View:
    space: str
    layer: str
    mode: str

    @property
    def network(self) -> str:
        return get_space(self.space).network

    @property
    def label(self) -> str:
        """e.g. "dinov2-vit-l-14/cls/edm2": readable, and safe in file names once slugged."""
        return f"{self.space}/{self.layer}/{self.mode}"

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.space}-{self.layer}-{self.mode}")

    @property
    def dim(self) -> int:
        spec = get_space(self.space)
        return spec.layer_dims.get(self.layer, spec.dim)


def default_view(space: str = "inception") -> View:
    spec = get_space(space)
    return View(spec.name, spec.layer, spec.default_mode)
