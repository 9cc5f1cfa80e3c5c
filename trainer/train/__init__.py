"""trainer.train: see the package docstring of trainer."""

from trainer.train.loop import METRIC_KEYS, Trainer
from trainer.train.recipe import PRESETS, Recipe, cpu_smoke, paper_vit_l14, vit_s_single_gpu
from trainer.train.schedules import Schedules, cosine_schedule, param_groups

__all__ = [
    "METRIC_KEYS",
    "PRESETS",
    "Recipe",
    "Schedules",
    "Trainer",
    "cosine_schedule",
    "cpu_smoke",
    "paper_vit_l14",
    "param_groups",
    "vit_s_single_gpu",
]
