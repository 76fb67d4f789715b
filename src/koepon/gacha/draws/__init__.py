"""Draws: the outcome of each slot from the odds, the pity state and the fan's seeds."""
