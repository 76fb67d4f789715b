"""Incoming provider webhooks: verified, deduplicated, applied to checkouts exactly once."""
