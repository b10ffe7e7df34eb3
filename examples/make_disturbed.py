"""Write examples/cifar10-b-noise and examples/cifar10-b-blur: examples/cifar10-b disturbed as in the FID
paper's Figure 1 (`ganeval.disturbances`, seed 0), the inputs of the README's benchmark example.

    python examples/make_disturbed.py
"""

from pathlib import Path

import numpy as np
from PIL import Image

from ganeval.disturbances import disturb

HERE = Path(__file__).resolve().parent
LEVELS = {"gaussian_noise": ("noise", 0.25), "gaussian_blur": ("blur", 0.5)}

if __name__ == "__main__":
    files = sorted((HERE / "cifar10-b").glob("*.png"))
    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in files])
    for name, (suffix, level) in LEVELS.items():
        folder = HERE / f"cifar10-b-{suffix}"
        folder.mkdir(exist_ok=True)
        for path, image in zip(files, disturb(name, images, level, seed=0), strict=True):
            Image.fromarray(image).save(folder / path.name)
        print(f"{folder}: {len(files)} images, {name} at level {level}")
