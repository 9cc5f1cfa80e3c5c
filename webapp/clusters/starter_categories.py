"""The semantic categories a new installation starts with (docs/clustering.md): the paper's
nine named tissue clusters. Pathologists edit, add and reorder them in the app."""

# name, colour, default sampling weight, keyboard shortcut
CATEGORIES = [
    ("Tumour", "#d62728", 1.0, "1"),
    ("Stroma", "#e377c2", 1.0, "2"),
    ("Immune cells", "#1f77b4", 1.0, "3"),
    ("Necrosis", "#8c564b", 1.0, "4"),
    ("Mucus", "#17becf", 1.0, "5"),
    ("Fat", "#bcbd22", 0.5, "6"),
    ("Blood", "#ff9896", 0.5, "7"),
    ("Normal epithelium", "#2ca02c", 1.0, "8"),
    ("Muscle", "#9467bd", 1.0, "9"),
]


def load(model) -> None:
    """Create the missing ones (by name); existing rows are left as edited."""
    existing = {name.casefold() for name in model.objects.values_list("name", flat=True)}
    model.objects.bulk_create(
        [
            model(name=name, colour=colour, default_weight=weight, shortcut=key, position=i)
            for i, (name, colour, weight, key) in enumerate(CATEGORIES, start=1)
            if name.casefold() not in existing
        ]
    )
