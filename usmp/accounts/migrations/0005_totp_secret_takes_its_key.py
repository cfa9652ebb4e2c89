"""A TOTP secret's data key goes with the secret, however the secret is deleted (a factor
reset, its device or its account deleted by a cascade, a shell): no second-factor key is
left behind without the one secret it sealed. Only keys of the second-factor purpose."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION accounts_totpsecret_drop_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM crypto_datakey WHERE id = OLD.data_key_id AND purpose = 'second_factor';
    RETURN NULL;
END
$$;
CREATE TRIGGER accounts_totpsecret_drop_key AFTER DELETE ON accounts_totpsecret
    FOR EACH ROW EXECUTE FUNCTION accounts_totpsecret_drop_key();
-- Keys already orphaned by an earlier deletion.
DELETE FROM crypto_datakey k WHERE k.purpose = 'second_factor'
    AND NOT EXISTS (SELECT 1 FROM accounts_totpsecret s WHERE s.data_key_id = k.id);
"""

REVERSE = """
DROP TRIGGER IF EXISTS accounts_totpsecret_drop_key ON accounts_totpsecret;
DROP FUNCTION IF EXISTS accounts_totpsecret_drop_key();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_sealed_totp_secrets"), ("crypto", "0002_alter_datakey_purpose")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
