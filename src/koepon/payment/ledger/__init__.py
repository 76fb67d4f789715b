"""The 推しメダル double-entry ledger: accounts, immutable transfers, two-phase holds."""
