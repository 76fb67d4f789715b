"""Payment service (決済サービス): medal packs, checkouts, the 推しメダル ledger and wallets."""
