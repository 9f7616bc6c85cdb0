from contacts.views import accounts, contact_page, contacts, duplicates, imports, settings, tracking

app_name = "contacts"
urlpatterns = [
    *contacts.urlpatterns,
    *accounts.urlpatterns,
    *imports.urlpatterns,
    *duplicates.urlpatterns,
    *contact_page.urlpatterns,
]

#: Settings → custom fields, tags and lists live under /settings/ (included from lifecycle/urls.py).
settings_urlpatterns = (settings.urlpatterns, "contacts-settings")

#: Site tracking: /t/s.js, /t/collect, /settings/tracking/, /reports/site-visits/ (included from lifecycle/urls.py).
tracking_urlpatterns = (tracking.urlpatterns, "tracking")

#: Lead forms, public side (issue #5): /f/<key>/, /f/<key>/embed.js, /f/<key>/embed/, /f/<key>/submit/,
#: /f/confirm/<token>/ (included from lifecycle/urls.py).
from contacts.views import leadforms_public  # noqa: E402

leadforms_public_urlpatterns = (leadforms_public.urlpatterns, "leadforms_public")
