"""Pipeline metrics, the pipeline review and the pipeline size calculator."""

urlpatterns: list = []
