"""trainer.loss: see the package docstring of trainer."""

from trainer.loss.dino_loss import DINOLoss
from trainer.loss.ibot_loss import iBOTPatchLoss
from trainer.loss.koleo_loss import KoLeoLoss

__all__ = ["DINOLoss", "KoLeoLoss", "iBOTPatchLoss"]
