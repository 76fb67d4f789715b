"""Benchmarks (``make bench``): bounded runs against the local PostgreSQL, numbers printed."""
