"""Cluster services by concern: the semantic vocabulary (categories), runs and their phased
execution (runs, execution), review decisions (review) and reading results (results)."""
