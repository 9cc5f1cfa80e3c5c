"""Reads on slides and roots."""

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery

from webapp.slides.models import ScanJob, Slide, SlideRoot


def _tags():
    from webapp.tagging.models import SlideTag

    # One query for the tags of a whole page, whatever its size.
    return Prefetch("tags", queryset=SlideTag.objects.select_related("term__category"))


def slide_list() -> QuerySet[Slide]:
    # Only the columns a list shows: the property map can be tens of kB per slide.
    return (
        Slide.objects.select_related("root")
        .defer("properties", "level_dimensions", "level_downsamples")
        .prefetch_related(_tags())
    )


def slide_detail() -> QuerySet[Slide]:
    return Slide.objects.select_related("root").prefetch_related(_tags())


def slide_facets(queryset: QuerySet[Slide]) -> dict:
    def counts(field: str) -> list[dict]:
        rows = queryset.order_by().values(field).annotate(count=Count("id")).order_by(field)
        return [{"value": row[field], "count": row["count"]} for row in rows if row[field]]

    return {"status": counts("status"), "vendor": counts("vendor")}


def root_list() -> QuerySet[SlideRoot]:
    last_scan = ScanJob.objects.filter(root=OuterRef("pk")).order_by("-created_at").values("pk")[:1]
    return (
        SlideRoot.objects.annotate(slide_count=Count("slides"), last_scan_id=Subquery(last_scan))
        .prefetch_related("allowed_users")
        .order_by("name")
    )


def scans_by_id(ids) -> dict[int, ScanJob]:
    return {scan.pk: scan for scan in ScanJob.objects.filter(pk__in=[i for i in ids if i])}
