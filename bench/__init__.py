"""Benchmarks of stepdown against its own Temporal server's limits (`make bench`)."""
