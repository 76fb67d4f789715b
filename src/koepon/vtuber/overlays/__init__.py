"""The stream overlay's secret URL (COMPLIANCE I1): a VTuber's team makes and rotates it; anyone
holding it reads what the overlay shows."""
