"""Trigram indexes for the API's search (see Book.Meta).

pg_trgm ships with PostgreSQL's contrib modules: in Debian's postgresql-15
package (the Debian-made image and the tests' server) and in the official
postgres images. It is a trusted extension (PostgreSQL 13+), so a database
owner without superuser rights can create it too.

The indexes are built CONCURRENTLY (hence a non-atomic migration): on a
table that already holds many books, a deployment's migration then does not
block the writes of the replicas still serving. A build takes seconds per
million rows, longer than a request may (DATABASE_STATEMENT_TIMEOUT_MS), so
the timeout is lifted for this migration's statements and restored after.
"""
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations
from django.db.models.functions import Upper

NO_TIMEOUT = "SET statement_timeout = 0"
RESTORE_TIMEOUT = "RESET statement_timeout"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("books", "0001_initial"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunSQL(NO_TIMEOUT, reverse_sql=RESTORE_TIMEOUT),
        *(
            AddIndexConcurrently(
                model_name="book",
                index=GinIndex(OpClass(Upper(column), name="gin_trgm_ops"), name=f"book_{column}_trgm"),
            )
            for column in ("title", "subtitle", "author")
        ),
        migrations.RunSQL(RESTORE_TIMEOUT, reverse_sql=NO_TIMEOUT),
    ]
