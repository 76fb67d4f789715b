"""Odds tables of a gacha: the configuration model, rate arithmetic, disclosure and the law."""
