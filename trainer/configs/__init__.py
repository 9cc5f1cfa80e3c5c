"""trainer.configs: see the package docstring of trainer."""
