import django_filters

from webapp.training.models import RunStatus, TrainingRun


class TrainingRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    dataset_version = django_filters.NumberFilter()

    class Meta:
        model = TrainingRun
        fields = ["status", "dataset_version"]
