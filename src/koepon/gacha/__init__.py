"""The gacha service (being built): odds, draws, provably fair randomness, the draw log, audits.

So far it holds the pure cores only (odds/, fairness/, draws/outcomes.py, transparency/,
audit/); the api, service, repository and draw saga are wired in later.
"""
