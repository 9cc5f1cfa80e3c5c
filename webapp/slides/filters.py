import django_filters
from django.db.models import Exists, OuterRef, Q
from rest_framework.exceptions import ValidationError

from webapp.core.errors import ServiceError
from webapp.slides.models import ReviewStatus, ScanJob, Slide, SlideRoot, SlideStatus


def _visible_roots(request):
    """A root hidden from the user is refused like one that does not exist."""
    from webapp.slides import access

    if request is None:
        return SlideRoot.objects.all()
    return SlideRoot.objects.exclude(pk__in=access.hidden_root_ids(request.user))


class SlideFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Text in name or path")
    root = django_filters.ModelChoiceFilter(queryset=_visible_roots)
    # distinct=False: a status is a column of the slide, no join can duplicate rows, and
    # DISTINCT would make every count scan the whole table.
    status = django_filters.MultipleChoiceFilter(choices=SlideStatus.choices, distinct=False)
    vendor = django_filters.CharFilter(method="filter_vendor", label="Vendor (repeatable)")
    mpp_min = django_filters.NumberFilter(field_name="mpp_x", lookup_expr="gte")
    mpp_max = django_filters.NumberFilter(field_name="mpp_x", lookup_expr="lte")
    review_status = django_filters.MultipleChoiceFilter(
        choices=ReviewStatus.choices, distinct=False
    )
    term = django_filters.NumberFilter(method="filter_terms", label="Has this term (repeatable)")
    category_missing = django_filters.CharFilter(
        method="filter_category_missing", label="Has no term of this category (key)"
    )
    group = django_filters.NumberFilter(method="filter_group", label="In this slide group")
    groups = django_filters.ChoiceFilter(
        choices=[("none", "in no group"), ("multiple", "in several groups")],
        method="filter_groups",
    )

    class Meta:
        model = Slide
        fields = ["search", "status", "vendor", "mpp_min", "mpp_max", "root", "review_status"]

    def filter_vendor(self, queryset, name, value):
        # Repeatable without a choices query: vendors are open-ended (whatever OpenSlide says).
        values = self.data.getlist("vendor") if hasattr(self.data, "getlist") else [value]
        return queryset.filter(vendor__in=[v for v in values if v])

    def filter_terms(self, queryset, name, value):
        from webapp.tagging.models import SlideTag

        values = self.data.getlist("term") if hasattr(self.data, "getlist") else [value]
        for raw in values:
            if not str(raw).isdigit():
                raise ValidationError({"term": [f"{raw!r} is not a term id."]})
            queryset = queryset.filter(
                Exists(SlideTag.objects.filter(slide=OuterRef("pk"), term_id=int(raw)))
            )
        return queryset

    def filter_category_missing(self, queryset, name, value):
        from webapp.tagging.models import SlideTag

        return queryset.exclude(
            Exists(SlideTag.objects.filter(slide=OuterRef("pk"), term__category__key=value))
        )

    def filter_group(self, queryset, name, value):
        from webapp.tagging.models import SlideGroup
        from webapp.tagging.services.groups import group_condition

        group = SlideGroup.objects.filter(pk=value).first()
        if group is None:
            raise ValidationError({"group": [f"No slide group with id {value}."]})
        try:
            return queryset.filter(group_condition(group))
        except ServiceError as exc:
            raise ValidationError({"group": [exc.detail]}) from exc

    def filter_groups(self, queryset, name, value):
        from webapp.tagging.services.groups import slides_by_group_count

        return slides_by_group_count(queryset, value)

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # Indexed by pg_trgm GIN indexes where the extension exists (see migration 0002).
        return queryset.filter(Q(name__icontains=value) | Q(relative_path__icontains=value))


class ScanFilter(django_filters.FilterSet):
    root = django_filters.ModelChoiceFilter(queryset=_visible_roots)

    class Meta:
        model = ScanJob
        fields = ["root", "status"]
