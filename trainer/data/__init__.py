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
from trainer.data.device_augment import DeviceCropCollate, augment_batch
from trainer.data.manifest_source import (
    ManifestIndex,
    StepBatches,
    StepSampler,
    batch_iterator,
    precompute_stain_stats,
)
from trainer.data.masking import BlockMaskGenerator

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "BatchStainTransfer",
    "BlockMaskGenerator",
    "DeviceCropCollate",
    "ManifestIndex",
    "MultiCropAugmentation",
    "MultiCropCollate",
    "MultiCropConfig",
    "PerSlideStats",
    "StainStats",
    "StepBatches",
    "StepSampler",
    "augment_batch",
    "batch_iterator",
    "cyclic_samples",
    "dihedral",
    "invert_dihedral",
    "lab_to_rgb",
    "precompute_stain_stats",
    "random_rot90_flip",
    "reinhard_transfer",
    "rgb_to_lab",
    "seeded_batches",
    "step_seed",
    "stain_stats",
    "tissue_mask",
]
