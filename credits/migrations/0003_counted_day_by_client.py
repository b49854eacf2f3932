"""A covering index for the chunk query of the credit engine (issue 7, docs/performance.md).

Each recompute chunk reads the counted days of a client-id range within the grace period;
with (client_id, day, partner_id) that is an index-only scan of the range instead of a bitmap
heap scan of millions of rows. Plain SQL, so that it works on SQLite and PostgreSQL without
changing the model (the index is a performance detail of engine.py's raw SQL).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("credits", "0002_spec_defaults")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS counted_day_by_client"
            " ON credits_countedday (client_id, day, partner_id)",
            reverse_sql="DROP INDEX IF EXISTS counted_day_by_client",
        ),
    ]
