"""Dataset versions: recipes, the state of their inputs, previews, builds, exports, diffs
and ranged file answers. Split by concern like webapp.clusters.services."""
