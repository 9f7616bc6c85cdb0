from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from lifecycle.api.views import NotFoundView

# The one inline <style> in drf-spectacular's Swagger UI page, allowed by its hash and nothing else.
# tests/lifecycle/test_api_rails.py recomputes it, so a drf-spectacular upgrade that changes the
# block fails a test instead of quietly unstyling the page.
SWAGGER_UI_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"

urlpatterns = [
    path("v1/", include("lifecycle.api.v1_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script, so the CSP holds.
    path("docs/", csp_update({"style-src": [SWAGGER_UI_STYLE_HASH]})(
        SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    # Last: any other /api/ URL is the JSON 404, not Django's HTML one.
    re_path(r"^", NotFoundView.as_view(), name="api-not-found"),
]
