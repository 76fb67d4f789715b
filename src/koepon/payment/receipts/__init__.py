"""Purchase history for fans, the operators' payment view, and reconciliation with providers."""
