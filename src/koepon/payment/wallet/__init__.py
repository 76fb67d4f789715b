"""A fan's wallet: paid (有償) and free (無償) medals backed by lots (COMPLIANCE M1–M2)."""
