"""trainer.train: see the package docstring of trainer."""

from trainer.train.schedules import Schedules, cosine_schedule, param_groups

__all__ = ["Schedules", "cosine_schedule", "param_groups"]
