"""Encryption at rest: keyring, AES-256-GCM envelopes, blind indexes, encrypted model fields."""
