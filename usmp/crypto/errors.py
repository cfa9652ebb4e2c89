"""Errors of the crypto kernel. Every message names the key id at fault, never key material."""


class CryptoError(Exception):
    """Base class: something about keys or ciphertexts is wrong. Never silently ignored."""


class KeyringError(CryptoError):
    """The keyring is missing, malformed, or lacks a key that is needed."""


class KeyNotFound(KeyringError):
    """A ciphertext or wrapped key names a key id that the keyring does not hold."""


class DecryptionError(CryptoError):
    """Authentication failed: wrong key, tampered data, or a ciphertext moved to another row."""
