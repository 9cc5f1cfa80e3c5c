"""trainer.models: see the package docstring of trainer."""

from trainer.models.heads import DINOHead

__all__ = ["DINOHead"]
