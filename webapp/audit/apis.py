import django_filters
from rest_framework import mixins, viewsets

from webapp.audit.models import AuditEvent
from webapp.audit.serializers import AuditEventSerializer


class AuditFilter(django_filters.FilterSet):
    slide = django_filters.NumberFilter(field_name="slide_id")
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    action = django_filters.CharFilter(method="filter_action")

    class Meta:
        model = AuditEvent
        fields = ["slide", "actor", "action", "since"]

    def filter_action(self, queryset, name, value):
        # "tag" matches tag.add and tag.remove; "tag.add" only itself.
        return (
            queryset.filter(action=value)
            if "." in value
            else queryset.filter(action__startswith=f"{value}.")
        )


class AuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit trail, newest first; read-only for everyone logged in."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditFilter
    queryset = AuditEvent.objects.order_by("-at", "-id")
    ordering_fields = ["at"]
