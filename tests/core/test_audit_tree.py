"""The Merkle tree over the audit chain: signed checkpoints (C2SP signed notes), stored nodes,
consistency between checkpoints, the public key, the migration from the chain."""

from __future__ import annotations

import base64
import importlib
import io
import types

import pytest
from django.apps import apps
from django.core.management import call_command

from tests.core.test_audit_chain import record, run_verify, tamper
from usmp.audit import chain, merkle, notes, tree
from usmp.audit.models import ChainLink, Checkpoint, SequencerState, TreeNode

# golang.org/x/mod/sumdb/note's example (its documentation and note_test.go): a known key,
# text and signature. Ed25519 is deterministic, so our signer must give the same bytes.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2"
    "pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_signed_notes_are_those_of_the_go_reference():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])[1:]
    signer = notes.Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))
    assert signer.verifier.vkey == GO_VKEY
    assert signer.sign(GO_TEXT) == GO_NOTE
    verifier = notes.Verifier.parse(GO_VKEY)
    assert notes.open_note(GO_NOTE, verifier) == GO_TEXT
    with pytest.raises(notes.NoteError):
        notes.open_note(GO_NOTE.replace("cryptography", "cryptographY"), verifier)
    with pytest.raises(notes.NoteError):
        notes.Verifier.parse(GO_VKEY.replace("c74f20a3", "c74f20a4"))


@pytest.mark.django_db
def test_checkpoints_are_signed_tlog_checkpoints_that_the_public_key_opens():
    record(5)
    point = chain.checkpoint()
    out = io.StringIO()
    call_command("audit_public_key", stdout=out)
    verifier = notes.Verifier.parse(out.getvalue())
    opened = notes.open_checkpoint(point.note, verifier, origin=tree.origin())
    size = ChainLink.objects.count()
    leaves = [
        bytes(h) for h in ChainLink.objects.order_by("seq").values_list("leaf_hash", flat=True)
    ]
    assert (opened.size, opened.root) == (size, merkle.root_of(leaves))
    assert point.note.splitlines()[:3] == [
        tree.origin(),
        str(size),
        base64.b64encode(merkle.root_of(leaves)).decode(),
    ]
    other = notes.Signer("cloison.invalid/audit", notes.Ed25519PrivateKey.generate())
    with pytest.raises(notes.NoteError):
        notes.open_checkpoint(point.note, other.verifier)


@pytest.mark.django_db
def test_an_altered_leaf_hash_is_named():
    record(4)
    chain.checkpoint()
    link = ChainLink.objects.order_by("seq")[2]
    tamper("UPDATE audit_chainlink SET leaf_hash = %s WHERE seq = %s", [b"\x00" * 32, link.seq])
    ok, output = run_verify()
    assert not ok
    name = f"link {link.seq} ({link.source} row {link.source_id})"
    assert f"First broken link: {name}: its leaf hash in the tree was altered" in output
    assert "the tree's root at that size is not the signed root" in output


@pytest.mark.django_db
def test_an_altered_tree_node_is_found_and_breaks_the_consistency_proofs():
    record(130)
    chain.checkpoint()
    record(200)  # past 256 leaves: a node at level 8 is stored
    chain.checkpoint()
    record(10)
    chain.checkpoint()  # proved consistent with the previous one through that node
    assert TreeNode.objects.filter(level=8, index=0).exists()
    assert run_verify()[0]
    tamper_node = "UPDATE audit_treenode SET hash = %s WHERE level = 8 AND index = 0"
    with_triggers_off(tamper_node, [b"\x01" * 32])
    ok, output = run_verify()
    assert not ok
    assert "tree node 0 at level 8 was altered" in output
    assert "is not consistent with the checkpoint of" in output


def with_triggers_off(sql, params):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_treenode DISABLE TRIGGER audit_treenode_no_update_delete")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_treenode ENABLE TRIGGER audit_treenode_no_update_delete")


@pytest.mark.django_db
def test_a_forged_checkpoint_signature_is_named():
    record(3)
    point = chain.checkpoint()
    lines = point.note.split("\n")
    signature = lines[-2]
    forged = signature[:-6] + ("AAAA" if signature[-6:-2] != "AAAA" else "BBBB") + signature[-2:]
    tamper_checkpoint(point.id, "\n".join([*lines[:-2], forged, ""]))
    ok, output = run_verify()
    assert not ok and f"the checkpoint of {point.tree_size} leaves" in output
    assert "does not verify" in output


def tamper_checkpoint(checkpoint_id, note):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_no_update_delete"
        )
        cursor.execute("UPDATE audit_checkpoint SET note = %s WHERE id = %s", [note, checkpoint_id])
        cursor.execute(
            "ALTER TABLE audit_checkpoint ENABLE TRIGGER audit_checkpoint_no_update_delete"
        )


@pytest.mark.django_db
def test_a_checkpoint_not_consistent_with_its_predecessor_is_named():
    """A validly signed checkpoint (the key leaked, or the log forked) of another tree."""
    record(3)
    first = chain.checkpoint()
    record(3)
    size = first.tree_size + 2
    forked_root = merkle.root_of([merkle.leaf_hash(b"fork %d" % i) for i in range(size)])
    Checkpoint.objects.create(
        seq=first.seq + 2,
        head_hash=ChainLink.objects.get(seq=first.seq + 2).row_hash,
        tree_size=size,
        root_hash=forked_root,
        note=tree.sign(size, forked_root),
    )
    ok, output = run_verify()
    assert not ok
    assert f"the checkpoint of {size} leaves" in output
    assert f"is not consistent with the checkpoint of {first.tree_size} leaves" in output


@pytest.mark.django_db
def test_proofs_from_the_stored_tree_verify_against_signed_roots():
    record(300)
    point = chain.checkpoint()
    stored = tree.StoredTree()
    leaves = [
        bytes(h) for h in ChainLink.objects.order_by("seq").values_list("leaf_hash", flat=True)
    ]
    for index in (0, 1, 255, 256, 257, point.tree_size - 1):
        proof = merkle.inclusion_proof(index, point.tree_size, stored.subtree)
        merkle.verify_inclusion(
            index, point.tree_size, leaves[index], proof, bytes(point.root_hash)
        )
    for old in (1, 255, 256, 257, point.tree_size):
        proof = merkle.consistency_proof(old, point.tree_size, stored.subtree)
        merkle.verify_consistency(
            old, point.tree_size, merkle.root_of(leaves[:old]), bytes(point.root_hash), proof
        )


migration = importlib.import_module("usmp.audit.migrations.0007_merkle_tree")


def _forget_tree():
    """The database as the previous release left it: links without leaves, no tree."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_treenode DISABLE TRIGGER audit_treenode_no_update_delete")
        cursor.execute("DELETE FROM audit_treenode")
        cursor.execute("ALTER TABLE audit_treenode ENABLE TRIGGER audit_treenode_no_update_delete")
    tamper("UPDATE audit_chainlink SET leaf_hash = '\\x00'")
    SequencerState.objects.update(tree_size=0, frontier=b"")


@pytest.mark.django_db
def test_the_migration_makes_the_verified_chain_the_first_leaves():
    from django.db import connection

    record(300)
    before = chain.checkpoint()
    _forget_tree()
    assert not run_verify()[0]
    migration.build_tree(apps, types.SimpleNamespace(connection=connection))
    ok, output = run_verify()
    assert ok, output
    state = SequencerState.objects.get()
    assert state.tree_size == ChainLink.objects.count() == before.tree_size
    assert bytes(Checkpoint.objects.get(pk=before.pk).root_hash) == bytes(before.root_hash)


@pytest.mark.django_db
def test_the_migration_refuses_a_broken_chain():
    from django.db import connection

    events = record(5)
    _forget_tree()
    tamper("UPDATE audit_accessevent SET outcome = 'denied' WHERE id = %s", [events[1].pk])
    with pytest.raises(RuntimeError, match="The audit chain is broken"):
        migration.build_tree(apps, types.SimpleNamespace(connection=connection))
    assert SequencerState.objects.get().tree_size == 0  # nothing changed
