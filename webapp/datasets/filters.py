import django_filters

from webapp.datasets.models import DatasetVersion, ExportJob, ExportStatus, VersionStatus


class DatasetVersionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=VersionStatus.choices)
    cluster_run = django_filters.NumberFilter()

    class Meta:
        model = DatasetVersion
        fields = ["status", "cluster_run"]


class ExportJobFilter(django_filters.FilterSet):
    dataset = django_filters.NumberFilter(field_name="version")
    status = django_filters.ChoiceFilter(choices=ExportStatus.choices)

    class Meta:
        model = ExportJob
        fields = ["dataset", "status"]
