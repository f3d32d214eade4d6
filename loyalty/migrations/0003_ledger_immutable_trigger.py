"""On PostgreSQL, reject UPDATE and DELETE on the ledger at the database level.

The model already refuses both; the trigger also stops raw SQL, a stray
``QuerySet.update`` on a subclass, or a tool connected to the database. It is
a no-op on SQLite (the embedded run), where the model-level guard applies.
TRUNCATE is left to the database owner (test isolation uses it).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION loyalty_transaction_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'loyalty_loyaltytransaction is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER loyalty_transaction_no_update_delete
    BEFORE UPDATE OR DELETE ON loyalty_loyaltytransaction
    FOR EACH ROW EXECUTE FUNCTION loyalty_transaction_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS loyalty_transaction_no_update_delete ON loyalty_loyaltytransaction;
DROP FUNCTION IF EXISTS loyalty_transaction_immutable();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0002_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
