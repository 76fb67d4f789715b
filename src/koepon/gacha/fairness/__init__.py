"""Provably fair draws, algorithm version 1 (DESIGN.md "Fairness algorithm", COMPLIANCE G9)."""
