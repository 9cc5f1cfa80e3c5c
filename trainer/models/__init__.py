"""trainer.models: see the package docstring of trainer."""

from trainer.models.heads import DINOHead
from trainer.models.meta_arch import Features, HeadConfig, SSLMetaArch

__all__ = ["DINOHead", "Features", "HeadConfig", "SSLMetaArch"]
