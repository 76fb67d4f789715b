"""Audits of observed draw outcomes against the declared odds (COMPLIANCE G9)."""
