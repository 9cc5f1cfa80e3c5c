"""Small and quick run parameters: 5 clusters from up to 100 tiles per slide (~800 tiles of
64 px in all)."""

QUICK = {"k": 5, "per_slide": 100, "iterations": 10, "seed": 0}
