"""trainer.data: see the package docstring of trainer."""

from trainer.data.augmentations import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    BatchStainTransfer,
    MultiCropAugmentation,
    MultiCropConfig,
    PerSlideStats,
    StainStats,
    dihedral,
    invert_dihedral,
    lab_to_rgb,
    random_rot90_flip,
    reinhard_transfer,
    rgb_to_lab,
    stain_stats,
    tissue_mask,
)
from trainer.data.collate import MultiCropCollate, cyclic_samples, seeded_batches, step_seed
from trainer.data.masking import BlockMaskGenerator

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "BatchStainTransfer",
    "BlockMaskGenerator",
    "MultiCropAugmentation",
    "MultiCropCollate",
    "MultiCropConfig",
    "PerSlideStats",
    "StainStats",
    "cyclic_samples",
    "dihedral",
    "invert_dihedral",
    "lab_to_rgb",
    "random_rot90_flip",
    "reinhard_transfer",
    "rgb_to_lab",
    "seeded_batches",
    "step_seed",
    "stain_stats",
    "tissue_mask",
]
