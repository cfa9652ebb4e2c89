"""The Merkle tree over the chain's links, as stored: leaf hashes in ChainLink, nodes at
levels 8, 16, 24... in TreeNode, the compact range in SequencerState. Subtree hashes for
proofs are computed from whole tiles of 256 stored hashes, loaded once and cached.

Checkpoints are signed with the keyring's Ed25519 key; their origin (the log's name, also
the key's name) is ``USMP_AUDIT_LOG_ORIGIN``.
"""

from __future__ import annotations

import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.utils import timezone

from usmp.crypto.keyring import get_keyring

from . import merkle, notes
from .models import ChainLink, SequencerState, TreeNode

STRIDE = 8  # levels between stored node levels
TILE = 1 << STRIDE


# The name a log gets where the deployment gives none (USMP_AUDIT_LOG_ORIGIN empty): fine for
# development and tests, and a deployment warning (usmp.W013), as every unit's would carry it.
DEFAULT_ORIGIN = "cloison.invalid/audit"


def origin() -> str:
    return str(getattr(settings, "USMP_AUDIT_LOG_ORIGIN", "") or DEFAULT_ORIGIN)


def signer() -> notes.Signer:
    seed = get_keyring().audit_signing_seed
    return notes.Signer(origin(), Ed25519PrivateKey.from_private_bytes(seed))


def verifier() -> notes.Verifier:
    return signer().verifier


def sign(size: int, root: bytes, at: datetime.datetime | None = None) -> str:
    point = notes.Checkpoint(origin(), size, root, (at or timezone.now()).replace(microsecond=0))
    return signer().sign(point.text())


def state() -> tuple[int, int, merkle.CompactRange]:
    """(tree offset, size, compact range) as the sequencer left them."""
    row = SequencerState.objects.filter(pk=1).values_list("tree_offset", "tree_size", "frontier")
    found = row.first()
    if found is None:
        return 0, 0, merkle.CompactRange()
    offset, size, frontier = found
    return offset, size, merkle.CompactRange.unpack(size, bytes(frontier))


class StoredTree:
    """Subtree hashes of the stored tree (``subtree(start, end)`` for merkle's provers)."""

    def __init__(self, offset: int | None = None) -> None:
        self.offset = state()[0] if offset is None else offset
        self.tiles: dict[tuple[int, int], dict[int, bytes]] = {}
        self.cache: dict[tuple[int, int], bytes] = {}

    def _tile(self, level: int, tile: int) -> dict[int, bytes]:
        key = (level, tile)
        if key not in self.tiles:
            lo, hi = tile * TILE, (tile + 1) * TILE
            if level == 0:
                leaves = ChainLink.objects.filter(
                    seq__gt=self.offset + lo, seq__lte=self.offset + hi
                ).values_list("seq", "leaf_hash")
                found = {seq - 1 - self.offset: bytes(h) for seq, h in leaves}
            else:
                nodes = TreeNode.objects.filter(
                    level=level, index__gte=lo, index__lt=hi
                ).values_list("index", "hash")
                found = {index: bytes(h) for index, h in nodes}
            self.tiles[key] = found
        return self.tiles[key]

    def _stored(self, level: int, index: int) -> bytes:
        try:
            return self._tile(level, index // TILE)[index]
        except KeyError:
            raise merkle.ProofError(f"the tree has no node {index} at level {level}") from None

    def perfect(self, level: int, index: int) -> bytes:
        """The root of the perfect subtree of 2**LEVEL leaves numbered INDEX at that level."""
        key = (level, index)
        if key not in self.cache:
            base = level - level % STRIDE
            if base == level:
                value = self._stored(level, index)
            else:
                span = 1 << (level - base)
                row = [self._stored(base, i) for i in range(index * span, (index + 1) * span)]
                while len(row) > 1:
                    row = [merkle.node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
                value = row[0]
            self.cache[key] = value
        return self.cache[key]

    def subtree(self, start: int, end: int) -> bytes:
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            return self.perfect(width.bit_length() - 1, start // width)
        k = merkle.split(width)
        return merkle.node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int) -> bytes:
        return merkle.EMPTY_ROOT if size == 0 else self.subtree(0, size)
