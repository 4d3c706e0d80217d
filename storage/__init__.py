"""Encrypted storage: SQLCipher database, keys, template store, face index and outbox."""
