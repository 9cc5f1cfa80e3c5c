from rest_framework.routers import SimpleRouter

from webapp.audit.apis import AuditViewSet

router = SimpleRouter()
router.register("audit", AuditViewSet, basename="audit")
urlpatterns = router.urls
