"""usmp.audit.merkle against the RFC 6962 test vectors of transparency-dev/merkle (see
tests/core/data/merkle/SOURCE.md), not only against itself."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from usmp.audit import merkle

DATA = Path(__file__).parent / "data" / "merkle"
CONSTANTS = json.loads((DATA / "testonly_constants.json").read_text())
LEAVES = [merkle.leaf_hash(bytes.fromhex(x)) for x in CONSTANTS["leaf_inputs"]]
ROOTS = [bytes.fromhex(x) for x in CONSTANTS["root_hashes"]]


def vectors(kind: str) -> list[tuple[str, dict]]:
    found = sorted((DATA / kind).rglob("*.json"))
    assert len(found) > 50
    return [(str(p.relative_to(DATA)), json.loads(p.read_text())) for p in found]


def b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def b64s(values: list[str] | None) -> list[bytes]:
    return [b64(v) for v in values or []]


def test_leaf_and_node_hashes_and_roots_match_the_reference():
    assert [h.hex() for h in LEAVES] == CONSTANTS["node_hashes"][0]
    for size, root in enumerate(ROOTS):
        assert merkle.root_of(LEAVES[:size]) == root
    tree = merkle.CompactRange()
    completed: dict[int, dict[int, str]] = {}
    for leaf in LEAVES:
        for level, index, value in tree.append(leaf):
            completed.setdefault(level, {})[index] = value.hex()
    assert [list(completed[level].values()) for level in sorted(completed)] == CONSTANTS[
        "node_hashes"
    ]
    assert ROOTS[0] == merkle.EMPTY_ROOT


@pytest.mark.parametrize(("name", "vector"), vectors("inclusion"), ids=lambda v: str(v)[:60])
def test_inclusion_vectors(name, vector):
    args = (
        vector["leafIdx"],
        vector["treeSize"],
        b64(vector["leafHash"]),
        b64s(vector["proof"]),
        b64(vector["root"]),
    )
    if vector["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)
        index, size = vector["leafIdx"], vector["treeSize"]
        if b64(vector["root"]) == ROOTS[min(size, 8)] and size <= 8:
            # Our prover gives the reference proof for the reference tree.
            assert merkle.inclusion_proof(index, size, merkle.in_memory(LEAVES)) == args[3]


@pytest.mark.parametrize(("name", "vector"), vectors("consistency"), ids=lambda v: str(v)[:60])
def test_consistency_vectors(name, vector):
    args = (
        vector["size1"],
        vector["size2"],
        b64(vector["root1"]),
        b64(vector["root2"]),
        b64s(vector["proof"]),
    )
    if vector["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)
        m, n = vector["size1"], vector["size2"]
        if 0 < m < n <= 8 and args[3] == ROOTS[n]:
            assert merkle.consistency_proof(m, n, merkle.in_memory(LEAVES)) == args[4]


def test_every_proof_of_a_larger_tree_verifies_and_a_changed_one_does_not():
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(70)]
    subtree = merkle.in_memory(leaves)
    for size in range(1, 71):
        root = merkle.root_of(leaves[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, subtree)
            merkle.verify_inclusion(index, size, leaves[index], proof, root)
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(index, size, leaves[(index + 1) % 70], proof, root)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(old, size, subtree)
            merkle.verify_consistency(old, size, merkle.root_of(leaves[:old]), root, proof)
            if old < size:
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(
                        old, size, merkle.root_of(leaves[1 : old + 1]), root, proof
                    )


def test_our_proofs_are_the_reference_proofs_for_the_reference_tree():
    checked = 0
    subtree = merkle.in_memory(LEAVES)
    for name, vector in vectors("inclusion"):
        if name.endswith("happy-path.json") and vector["treeSize"] <= 8:
            proof = merkle.inclusion_proof(vector["leafIdx"], vector["treeSize"], subtree)
            assert proof == b64s(vector["proof"]), name
            checked += 1
    for name, vector in vectors("consistency"):
        if name.endswith("happy-path.json") and 0 < vector["size1"] <= vector["size2"] <= 8:
            proof = merkle.consistency_proof(vector["size1"], vector["size2"], subtree)
            assert proof == b64s(vector["proof"]), name
            checked += 1
    assert checked >= 8
