from django.db import migrations

from webapp.tagging.starter_vocabulary import CATEGORIES


def load(apps, schema_editor):
    Category = apps.get_model("tagging", "Category")
    Term = apps.get_model("tagging", "Term")
    for order, (key, name, multi, description, terms) in enumerate(CATEGORIES):
        category, _ = Category.objects.get_or_create(
            key=key,
            defaults={"name": name, "multi_valued": multi, "description": description,
                      "order": order},
        )
        for term, synonyms in terms:
            Term.objects.get_or_create(category=category, name=term,
                                       defaults={"synonyms": synonyms})


class Migration(migrations.Migration):
    dependencies = [("tagging", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
