"""Drop the ledger's indexes that no query and no foreign-key check uses (README "Performance").

Every ledger insert updates every index of the table. Six of the thirteen
go; five are the single-column indexes Django makes for a foreign key:

- ``card_id``, ``merchant_id``, ``store_id``: each is the first column of a
  composite index (``tx_card_created_idx``, ``tx_merchant_created_idx``,
  ``tx_store_created_idx``), which serves the same lookups, the foreign-key
  checks included;
- ``voided_transaction_id``: "is it voided?" uses the partial unique index
  ``tx_voided_at_most_once``, and ledger rows are never deleted (no
  foreign-key check to serve);
- ``reward_id``: no query looks ledger rows up by reward, and rewards are
  never deleted (deactivated instead);

and ``tx_store_created_idx`` (store, -created_at): a store's rows are read
within its merchant's (the API's and the admin's store filter), and the
plans walk ``tx_merchant_created_idx`` for them, a merchant having a handful
of stores; stores are never deleted (deactivated), so no foreign-key check.

Safe on a big, busy ledger: on PostgreSQL ``DROP INDEX CONCURRENTLY`` takes
no lock that blocks inserts, outside a transaction (``atomic = False``); the
reverse builds them ``CONCURRENTLY``. SQLite drops and builds them plainly.
The state keeps the fields as they are, ``db_index=False``.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "loyalty_loyaltytransaction"
# column -> the name Django gave its index (a hash of table and column: the same on PostgreSQL and SQLite)
DROPPED = {
    "card_id": "loyalty_loyaltytransaction_card_id_bb28580c",
    "merchant_id": "loyalty_loyaltytransaction_merchant_id_bf0d27c1",
    "store_id": "loyalty_loyaltytransaction_store_id_e2a59e69",
    "voided_transaction_id": "loyalty_loyaltytransaction_voided_transaction_id_8c06fd42",
    "reward_id": "loyalty_loyaltytransaction_reward_id_bfe114d6",
}
STORE_CREATED = "tx_store_created_idx"


def _concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def drop_indexes(apps, schema_editor):
    for name in [*DROPPED.values(), STORE_CREATED]:
        schema_editor.execute(f'DROP INDEX{_concurrently(schema_editor)} IF EXISTS "{name}"')


def build_indexes(apps, schema_editor):
    columns = {
        **{name: f'"{column}"' for column, name in DROPPED.items()},
        STORE_CREATED: '"store_id", "created_at" DESC',
    }
    for name, indexed in columns.items():
        schema_editor.execute(
            f'CREATE INDEX{_concurrently(schema_editor)} IF NOT EXISTS "{name}" ON "{TABLE}" ({indexed})'
        )


def _without_index(name, target, **options):
    field = models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, to=target, **options)
    return migrations.AlterField(model_name="loyaltytransaction", name=name, field=field)


class Migration(migrations.Migration):
    atomic = False  # DROP/CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("loyalty", "0014_campaign_permissions"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, build_indexes)],
            state_operations=[
                _without_index("card", "loyalty.loyaltycard", related_name="transactions"),
                _without_index("merchant", "loyalty.merchant", related_name="+"),
                _without_index("reward", "loyalty.reward", blank=True, null=True, related_name="+"),
                _without_index("store", "loyalty.store", blank=True, null=True, related_name="+"),
                _without_index(
                    "voided_transaction", "loyalty.loyaltytransaction", blank=True, null=True, related_name="voids"
                ),
                migrations.RemoveIndex(model_name="loyaltytransaction", name=STORE_CREATED),
            ],
        ),
    ]
