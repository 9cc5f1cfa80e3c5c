import django_filters

from webapp.clusters.models import Cluster, ClusterRun, ClusterStatus, RunStatus


class ClusterFilter(django_filters.FilterSet):
    # Required: a run has up to thousands of clusters, all runs together far more.
    run = django_filters.NumberFilter(field_name="run_id", required=True)
    status = django_filters.ChoiceFilter(choices=ClusterStatus.choices)
    category = django_filters.NumberFilter(field_name="category_id")
    unreviewed = django_filters.BooleanFilter(
        method="filter_unreviewed", label="true: only clusters without a decision yet"
    )

    class Meta:
        model = Cluster
        fields = ["run", "status", "category", "unreviewed"]

    def filter_unreviewed(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.filter(status=ClusterStatus.UNREVIEWED)
        return queryset.exclude(status=ClusterStatus.UNREVIEWED)


class ClusterRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = ClusterRun
        fields = ["status", "config"]
