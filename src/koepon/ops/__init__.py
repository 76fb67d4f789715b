"""Operations on the platform's data: backups, restores and the anonymised staging copy."""
