"""Benchmarks of the RudolfV platform; run them with `make bench` (see docs/benchmarks.md)."""
