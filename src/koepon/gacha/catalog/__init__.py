"""Gachas and their odds versions: drafts, review, publication, box stock, the public catalogue."""
