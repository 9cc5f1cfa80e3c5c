"""trainer.data: see the package docstring of trainer."""
