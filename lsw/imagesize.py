"""The training resolution: every decoded image is fitted to a square of this side (see `lsw.data.decode`).

The default follows the model: the CIFAR-style ResNets, fastcnn, smallcnn and tinynet all train at
32 px (tinynet's own sets, digits and Fashion-MNIST, are smaller and keep their size: nothing is
upscaled past the images' own size).
"""
from __future__ import annotations

from lsw.errors import LswError

MIN_SIZE, MAX_SIZE = 8, 512
MODEL_SIZE = {"auto": 32, "resnet18": 32, "resnet34": 32, "fastcnn": 32, "smallcnn": 32, "tinynet": 32}


def image_size_for(image_size: int | None, model: str = "auto") -> int:
    """`image_size` when given (checked), else the size `model` trains at (32 for an unknown name)."""
    if image_size is None:
        return MODEL_SIZE.get(model, 32)
    return check_image_size(image_size)


def check_image_size(image_size: object) -> int:
    """`image_size` as an int in [MIN_SIZE, MAX_SIZE]; LswError otherwise."""
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not MIN_SIZE <= image_size <= MAX_SIZE:
        raise LswError(f"image size {image_size!r} is out of range: give a whole number of pixels from "
                       f"{MIN_SIZE} to {MAX_SIZE} (32 suits the default models)")
    return image_size
