"""trainer.loss: see the package docstring of trainer."""
