import django_filters
from rest_framework import mixins, viewsets

from webapp.audit.models import AuditEvent
from webapp.audit.serializers import AuditEventSerializer
from webapp.slides import access
from webapp.slides.models import Slide


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

    def get_queryset(self):
        # Changes to slides hidden from the user (restricted roots) are not shown either.
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # the schema: no user, no query
            return queryset
        hidden = access.hidden_root_ids(self.request.user)
        if hidden:
            slides = Slide.objects.filter(root_id__in=hidden).values("pk")
            queryset = queryset.exclude(slide_id__in=slides)
        return queryset
