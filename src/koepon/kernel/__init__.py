"""Shared technical code: databases, messaging, cache, tokens, errors. No business rules."""
