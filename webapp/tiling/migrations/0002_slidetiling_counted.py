from django.db import migrations, models


def finished_are_counted(apps, schema_editor):
    """Tilings that already finished were counted by their run."""
    SlideTiling = apps.get_model("tiling", "SlideTiling")
    SlideTiling.objects.filter(status__in=["done", "failed"]).update(counted=True)


class Migration(migrations.Migration):
    dependencies = [
        ("tiling", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="slidetiling",
            name="counted",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(finished_are_counted, migrations.RunPython.noop),
    ]
