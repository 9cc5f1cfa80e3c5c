"""trainer.train: see the package docstring of trainer."""
