"""Suggested terms for a slide: from its OpenSlide metadata and from the active tag rules."""

from webapp.slides.models import Slide
from webapp.tagging.models import SlideTag, TagRule
from webapp.tagging.services.vocabulary import TermIndex

# OpenSlide properties that name the scanner make or model.
_SCANNER_PROPERTIES = (
    "openslide.vendor",
    "hamamatsu.Product",
    "aperio.ScanScope ID",
    "philips.DICOM_MANUFACTURER",
    "leica.device-model",
    "mirax.GENERAL.SLIDE_TYPE",
)


def _magnification(power: float) -> str:
    return f"{round(power):d}×"


def slide_suggestions(slide: Slide, index: TermIndex | None = None) -> list[dict]:
    """[{"term": Term, "reason": str}] for terms the slide does not have yet."""
    index = index or TermIndex()
    have = set(SlideTag.objects.filter(slide=slide).values_list("term_id", flat=True))
    found: dict[int, dict] = {}

    def offer(category: str, name: str, reason: str) -> None:
        if category not in index.categories:
            return
        try:
            term = index.term(category, name)
        except Exception:  # noqa: BLE001 - no such term in this vocabulary: nothing to offer
            return
        if term.pk not in have and term.active:
            found.setdefault(term.pk, {"term": term, "reason": reason})

    props = slide.properties or {}
    for key in _SCANNER_PROPERTIES:
        value = props.get(key)
        if value:
            offer("scanner", value, f"scanner from metadata ({key} = {value!r})")
    if slide.objective_power:
        offer(
            "magnification",
            _magnification(slide.objective_power),
            f"objective power {slide.objective_power:g} in the metadata",
        )
    for rule in TagRule.objects.filter(active=True).select_related("term__category"):
        if rule.term_id in have or not rule.term.active:
            continue
        # Matched by PostgreSQL, as rule_apply does: Python's `re` backtracks exponentially
        # on patterns like (a+)+$ and would hang the request.
        field = "relative_path" if rule.field == "path" else "name"
        if Slide.objects.filter(pk=slide.pk, **{f"{field}__regex": rule.pattern}).exists():
            found.setdefault(
                rule.term_id,
                {"term": rule.term, "reason": f"rule {rule.name!r} matches the {rule.field}"},
            )
    return list(found.values())
