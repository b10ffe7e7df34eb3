"""The training data stream: shuffled minibatches of a dataset read through `ganeval.load_dataset`."""

from __future__ import annotations

import torch

import ganeval
from ganeval.errors import check


class BatchStream:
    """Shuffled minibatches without replacement, reshuffled each epoch; resumable from (epoch, position).

    Epoch e's order is `torch.randperm` seeded with (seed, e), so the order never depends on how many
    batches were drawn before a restart. Images become floats in [-1, 1] on the data's device.
    """

    def __init__(self, data: ganeval.LabelledImages, batch_size: int, seed: int, device: torch.device):
        check(batch_size <= len(data.images), f"batch size {batch_size} exceeds the {len(data.images)} images")
        self.images, self.labels = data.images.to(device), data.labels.to(device)
        self.batch_size, self.seed = batch_size, seed
        self.epoch, self.position = 0, 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.images), generator=gen).to(self.images.device)

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.position + self.batch_size > len(self._order):  # drop the incomplete tail batch
            self.epoch, self.position = self.epoch + 1, 0
            self._order = self._permutation(self.epoch)
        index = self._order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return self.images[index].float() / 127.5 - 1.0, self.labels[index]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._order = self._permutation(self.epoch)
