"""The rewards service (特典管理サービス): content files, previews, entitlements, downloads."""
