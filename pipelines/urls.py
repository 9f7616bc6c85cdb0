from pipelines.views import board, deals, reports, settings

app_name = "pipelines"
urlpatterns = [
    *board.urlpatterns,
    *deals.urlpatterns,
    *reports.urlpatterns,
]

#: Settings → pipelines live under /settings/ (included from lifecycle/urls.py).
settings_urlpatterns = (settings.urlpatterns, "pipelines-settings")
