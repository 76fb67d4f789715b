"""The auth service (認証サービス): accounts, credentials, sessions, roles and self-set limits."""
