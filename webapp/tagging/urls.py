from django.urls import path
from rest_framework.routers import SimpleRouter

from webapp.tagging import apis

router = SimpleRouter()
router.register("categories", apis.CategoryViewSet, basename="category")
router.register("terms", apis.TermViewSet, basename="term")
router.register("tag-rules", apis.TagRuleViewSet, basename="tag-rule")
router.register("groups", apis.SlideGroupViewSet, basename="group")

# Before the slides app's routes: "review" and "import" would otherwise read as slide ids.
urlpatterns = [
    path("slides/export.csv", apis.ExportCsvApi.as_view(), name="slides-export"),
    path("slides/import/", apis.ImportCsvApi.as_view(), name="slides-import"),
    path("slides/review/", apis.ReviewApi.as_view(), name="slides-review"),
    path("slides/<int:pk>/tags/", apis.SlideTagsApi.as_view(), name="slide-tags"),
    path(
        "slides/<int:pk>/tags/<int:term_id>/",
        apis.SlideTagDetailApi.as_view(),
        name="slide-tag-detail",
    ),
    path("slides/<int:pk>/suggestions/", apis.SuggestionsApi.as_view(), name="slide-suggestions"),
    path("tags/bulk/", apis.BulkTagApi.as_view(), name="tags-bulk"),
    *router.urls,
]
