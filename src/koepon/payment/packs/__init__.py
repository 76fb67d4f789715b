"""Medal packs: what fans can buy (tax-included prices, paid medals plus bonus free medals)."""
