import django_filters
from django.db.models import Q

from webapp.slides.models import ScanJob, Slide, SlideStatus


class SlideFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Text in name or path")
    # distinct=False: a status is a column of the slide, no join can duplicate rows, and
    # DISTINCT would make every count scan the whole table.
    status = django_filters.MultipleChoiceFilter(choices=SlideStatus.choices, distinct=False)
    vendor = django_filters.CharFilter(method="filter_vendor", label="Vendor (repeatable)")
    mpp_min = django_filters.NumberFilter(field_name="mpp_x", lookup_expr="gte")
    mpp_max = django_filters.NumberFilter(field_name="mpp_x", lookup_expr="lte")

    class Meta:
        model = Slide
        fields = ["search", "status", "vendor", "mpp_min", "mpp_max", "root"]

    def filter_vendor(self, queryset, name, value):
        # Repeatable without a choices query: vendors are open-ended (whatever OpenSlide says).
        values = self.data.getlist("vendor") if hasattr(self.data, "getlist") else [value]
        return queryset.filter(vendor__in=[v for v in values if v])

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # Indexed by pg_trgm GIN indexes where the extension exists (see migration 0002).
        return queryset.filter(Q(name__icontains=value) | Q(relative_path__icontains=value))


class ScanFilter(django_filters.FilterSet):
    class Meta:
        model = ScanJob
        fields = ["root", "status"]
