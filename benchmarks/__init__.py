"""Benchmarks on public instances and generated districts (``make bench``)."""
