"""/api/v1/lifecycle/: stages and stage sets (lifecycle/api/stages.py)."""

from rest_framework.routers import SimpleRouter

from lifecycle.api.stages import LifecycleStageViewSet, StageSetViewSet

app_name = "lifecycle-api"

router = SimpleRouter()
router.register("stages", LifecycleStageViewSet, basename="stage")
router.register("stage-sets", StageSetViewSet, basename="stage-set")

urlpatterns = router.urls
