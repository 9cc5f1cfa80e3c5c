import django_filters
from django.db.models import Q

from webapp.tagging.models import Term


class TermFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(method="filter_category", label="Category key or id")
    search = django_filters.CharFilter(method="filter_search", label="Text in name or code")

    class Meta:
        model = Term
        fields = ["category", "search", "active"]

    def filter_category(self, queryset, name, value):
        return (
            queryset.filter(category_id=value)
            if value.isdigit()
            else queryset.filter(category__key=value)
        )

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return (
            queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))
            if value
            else queryset
        )
