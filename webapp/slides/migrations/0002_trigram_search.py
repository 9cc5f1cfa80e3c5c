"""Trigram indexes for the slide browser's substring search, where pg_trgm is available.

Production PostgreSQL ships pg_trgm (contrib); the embedded development server does not, and
there the search falls back to a sequential scan, which is fine at development sizes.
"""

from django.db import migrations

INDEXES = {"slide_name_trgm": "name", "slide_path_trgm": "relative_path"}


def _has_trgm(schema_editor) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        return cursor.fetchone() is not None


def create(apps, schema_editor):
    if not _has_trgm(schema_editor):
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            # On the expression Django's icontains compiles to: UPPER(col::text) LIKE UPPER(%s).
            f"CREATE INDEX IF NOT EXISTS {name} ON slides_slide "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("slides", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
