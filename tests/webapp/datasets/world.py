"""The shared world's shape and the recipe the dataset tests start from."""

from dataclasses import dataclass
from pathlib import Path


@dataclass
class World:
    data_root: Path
    archive: Path
    run_id: int
    group_a: int  # explicit: the first two slides, weight 2
    group_b: int  # explicit: every slide, weight 1
    slide_ids: list[int]
    categories: dict[str, int]  # name → id


def recipe_for(world: World, **changes) -> dict:
    """Both groups (first two slides weight 2, all weight 1), Tumour ×2 and Stroma ×1
    (Immune cells left out), a small budget."""
    recipe = {
        "groups": [
            {"group": world.group_a, "weight": 2.0},
            {"group": world.group_b, "weight": 1.0},
        ],
        "categories": [
            {"category": world.categories["Tumour"], "weight": 2.0},
            {"category": world.categories["Stroma"], "weight": None},
        ],
        "budget": 300,
        "per_slide_cap": None,
        "split": {"by": "slide", "validation_fraction": 0.34},
        "seed": 1,
    }
    recipe.update(changes)
    return recipe
