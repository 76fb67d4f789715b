"""Koepon (こえポン!): VTuber digital-content gacha platform paid with 推しメダル."""
