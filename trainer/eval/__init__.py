"""Evaluation of frozen features: kNN and linear-probe accuracy on labelled tiles."""

from trainer.eval.tile_classification import (
    LabelledTiles,
    evaluate,
    extract_features,
    knn_accuracy,
    knn_predict,
    linear_probe_accuracy,
)

__all__ = [
    "LabelledTiles",
    "evaluate",
    "extract_features",
    "knn_accuracy",
    "knn_predict",
    "linear_probe_accuracy",
]
