"""TOTP secrets sealed: each existing device's key moves, encrypted under a data key of its
own, into accounts_totpsecret, and the device's key column gets a random decoy. Raw SQL, so
that the migration depends on no model code (the field's associated data is spelled out as
usmp.crypto.fields.EncryptedField._aad makes it). Reversible: the reverse writes the keys
back and drops the secrets with their data keys."""

import secrets
import uuid
from binascii import hexlify, unhexlify

import django.db.models.deletion
from django.db import migrations, models
from django_otp.util import random_hex

import usmp.crypto.fields

PURPOSE = "second_factor"


def _aad(secret_id):
    from usmp.crypto import aead

    return aead.associated_data("accounts.totpsecret", "secret", str(secret_id), PURPOSE)


def seal_keys(apps, schema_editor):
    from usmp.crypto import aead
    from usmp.crypto.keyring import KEY_BYTES, get_keyring

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, key FROM otp_totp_totpdevice ORDER BY id")
        devices = cursor.fetchall()
        if not devices:
            return
        keyring = get_keyring()
        for device_id, key in devices:
            data_key_id, secret_id = uuid.uuid4(), uuid.uuid4()
            plain = secrets.token_bytes(KEY_BYTES)
            wrapped = aead.wrap(keyring.active_key, keyring.active_id, plain, data_key_id)
            cursor.execute(
                "INSERT INTO crypto_datakey (id, purpose, master_key_id, wrapped_key, created_at) "
                "VALUES (%s, %s, %s, %s, now())",
                [data_key_id, PURPOSE, keyring.active_id, wrapped],
            )
            sealed = aead.encrypt(plain, data_key_id, unhexlify(key.encode()), _aad(secret_id))
            cursor.execute(
                "INSERT INTO accounts_totpsecret (id, device_id, data_key_id, secret) "
                "VALUES (%s, %s, %s, %s)",
                [secret_id, device_id, data_key_id, sealed],
            )
            cursor.execute(
                "UPDATE otp_totp_totpdevice SET key = %s WHERE id = %s", [random_hex(20), device_id]
            )


def unseal_keys(apps, schema_editor):
    from usmp.crypto import aead
    from usmp.crypto.keyring import get_keyring

    keyring = get_keyring()
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, s.device_id, s.secret, k.id, k.master_key_id, k.wrapped_key "
            "FROM accounts_totpsecret s JOIN crypto_datakey k ON k.id = s.data_key_id"
        )
        for secret_id, device_id, sealed, key_id, master_id, wrapped in cursor.fetchall():
            plain = aead.unwrap(keyring.master_key(master_id), master_id, bytes(wrapped), key_id)
            secret = aead.decrypt(plain, key_id, bytes(sealed), _aad(secret_id))
            cursor.execute(
                "UPDATE otp_totp_totpdevice SET key = %s WHERE id = %s",
                [hexlify(secret).decode(), device_id],
            )
            cursor.execute("DELETE FROM accounts_totpsecret WHERE id = %s", [secret_id])
            cursor.execute("DELETE FROM crypto_datakey WHERE id = %s", [key_id])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_must_change_password'),
        ('crypto', '0002_alter_datakey_purpose'),
        ('otp_totp', '0003_add_timestamps'),
    ]

    operations = [
        migrations.CreateModel(
            name='SealedTOTPDevice',
            fields=[
            ],
            options={
                'verbose_name': 'TOTP application',
                'verbose_name_plural': 'TOTP applications',
                'proxy': True,
                'default_permissions': (),
                'indexes': [],
                'constraints': [],
            },
            bases=('otp_totp.totpdevice',),
        ),
        migrations.CreateModel(
            name='TOTPSecret',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('secret', usmp.crypto.fields.EncryptedBinaryField(key_field='data_key')),
                ('data_key', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='crypto.datakey')),
                ('device', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='sealed_secret', to='otp_totp.totpdevice')),
            ],
            options={
                'verbose_name': 'TOTP secret',
                'verbose_name_plural': 'TOTP secrets',
                'default_permissions': (),
            },
        ),
        migrations.RunPython(seal_keys, unseal_keys),
    ]
