from django.db import migrations

from webapp.tagging import starter_vocabulary


def load(apps, schema_editor):
    starter_vocabulary.load(apps.get_model("tagging", "Category"), apps.get_model("tagging", "Term"))


class Migration(migrations.Migration):
    dependencies = [("tagging", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
