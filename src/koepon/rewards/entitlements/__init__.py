"""Entitlements: what a fan owns, granted from completed draws and exchanges (serials for
limited items), and the fan's collection."""
