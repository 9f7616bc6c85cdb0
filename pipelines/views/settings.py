"""Settings → pipelines: pipelines, their stages, the lost reasons and the pipeline rules (admins)."""

urlpatterns: list = []
