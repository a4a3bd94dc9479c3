"""The table of the "throttle" cache (django.core.cache.backends.db).

Django creates cache tables with `createcachetable`, a command; running it
from a migration puts it in the one step every deployment already runs.
It does nothing when the throttle cache is not a database cache.
"""
from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("books", "0001_initial")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
