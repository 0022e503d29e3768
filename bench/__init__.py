"""Benchmarks (`make bench`): measurements, never timed assertions in tests."""
