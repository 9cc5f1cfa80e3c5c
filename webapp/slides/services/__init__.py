"""Writes on slide roots and slides (registration, scans, cached images)."""
