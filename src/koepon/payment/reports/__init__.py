"""Prepaid-instrument reports: the base-date unused balance and the daily book (COMPLIANCE M3)."""
