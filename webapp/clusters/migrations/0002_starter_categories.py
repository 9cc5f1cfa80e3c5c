from django.db import migrations

from webapp.clusters import starter_categories


def load(apps, schema_editor):
    starter_categories.load(apps.get_model("clusters", "SemanticCategory"))


class Migration(migrations.Migration):
    dependencies = [("clusters", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
