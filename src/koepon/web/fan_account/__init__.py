"""The fan site's money and account pages: wallet, medal purchase, fairness, VTubers, account."""
