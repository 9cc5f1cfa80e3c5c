"""trainer.models: see the package docstring of trainer."""
