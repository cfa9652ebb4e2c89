# The Merkle tree over the chain (usmp.audit.tree): a leaf hash per link, stored nodes, the
# sequencer's compact range, signed checkpoints. Existing links become the tree's first
# leaves once the chain has been verified; on a broken chain the migration refuses to run.

from django.db import migrations, models

from usmp.core.db import append_only


def build_tree(apps, schema_editor):
    """Verify the chain, then hash its links into the tree, in order. Uses the chain's own
    canonical form and verifier (their definitions are the chain's since its first release)."""
    from usmp.audit import chain, merkle, tree

    ChainLink = apps.get_model("audit", "ChainLink")
    Checkpoint = apps.get_model("audit", "Checkpoint")
    SequencerState = apps.get_model("audit", "SequencerState")
    TreeNode = apps.get_model("audit", "TreeNode")
    first = ChainLink.objects.order_by("seq").values_list("seq", flat=True).first()
    if first is None:
        return
    offset = first - 1
    report = chain.verify_links_only()
    if not report.ok:
        raise RuntimeError(
            "The audit chain is broken, so it cannot become the Merkle tree's first leaves: "
            f"{report.problems[0]} ({len(report.problems)} problem(s)). Nothing was changed; "
            "investigate with the previous release's `manage.py audit_verify`."
        )
    frontier = merkle.CompactRange()
    legacy = {
        c.seq: c
        for c in Checkpoint.objects.filter(is_purge_boundary=False, seq__gt=offset)
    }
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_chainlink DISABLE TRIGGER audit_chainlink_no_update_delete")
        cursor.execute("ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_no_update_delete")
        cursor_seq = offset
        while True:
            links = list(
                ChainLink.objects.filter(seq__gt=cursor_seq)
                .order_by("seq")
                .values_list("seq", "source", "source_id")[:5000]
            )
            if not links:
                break
            rows = {
                source: chain._rows(source, [i for _s, src, i in links if src == source])
                for source in chain.SOURCES
            }
            updates, nodes = [], []
            for seq, source, source_id in links:
                leaf = merkle.leaf_hash(chain.canonical(source, rows[source][source_id]))
                updates.append((seq, leaf))
                for level, index, value in frontier.append(leaf):
                    if level and level % tree.STRIDE == 0:
                        nodes.append(TreeNode(level=level, index=index, hash=value))
                point = legacy.get(seq)
                if point is not None:
                    root = frontier.root()
                    cursor.execute(
                        "UPDATE audit_checkpoint SET tree_size = %s, root_hash = %s, note = %s "
                        "WHERE id = %s",
                        [frontier.size, root, tree.sign(frontier.size, root, point.at), point.id],
                    )
            cursor.executemany(
                "UPDATE audit_chainlink SET leaf_hash = %s WHERE seq = %s",
                [(leaf, seq) for seq, leaf in updates],
            )
            TreeNode.objects.bulk_create(nodes)
            cursor_seq = links[-1][0]
        cursor.execute("ALTER TABLE audit_chainlink ENABLE TRIGGER audit_chainlink_no_update_delete")
        cursor.execute("ALTER TABLE audit_checkpoint ENABLE TRIGGER audit_checkpoint_no_update_delete")
    SequencerState.objects.update_or_create(
        pk=1,
        defaults={
            "tree_offset": offset,
            "tree_size": frontier.size,
            "frontier": frontier.packed(),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_sequencer_caught_up")]

    operations = [
        migrations.AddField(
            model_name="chainlink",
            name="leaf_hash",
            field=models.BinaryField(max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="checkpoint",
            name="tree_size",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="checkpoint",
            name="root_hash",
            field=models.BinaryField(blank=True, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="checkpoint",
            name="note",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="sequencerstate",
            name="tree_offset",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="sequencerstate",
            name="tree_size",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="sequencerstate",
            name="frontier",
            field=models.BinaryField(default=b""),
        ),
        migrations.CreateModel(
            name="TreeNode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("level", models.PositiveSmallIntegerField()),
                ("index", models.BigIntegerField()),
                ("hash", models.BinaryField(max_length=32)),
            ],
            options={
                "verbose_name": "audit tree node",
                "default_permissions": (),
                "constraints": [
                    models.UniqueConstraint(fields=("level", "index"), name="tree_node_position")
                ],
            },
        ),
        append_only("audit_treenode"),
        migrations.RunPython(build_tree, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="chainlink",
            name="leaf_hash",
            field=models.BinaryField(max_length=32),
        ),
    ]
