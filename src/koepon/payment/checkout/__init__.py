"""Checkouts: buying a medal pack through a provider's hosted page, within the spending limits."""
