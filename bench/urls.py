"""The product's URLs plus the baselines: plain Django views that return a fixed JSON body.

`/bench/baseline/<size>/` answers with a JSON document of exactly `size` bytes, built once per
size. It runs through the same middleware as the API, so the ratio API/baseline is what the
API's own work (authentication, throttling, queries, serialisation) costs.
"""

from functools import cache

from django.http import HttpResponse
from django.urls import include, path

__all__ = ["baseline_body", "urlpatterns"]


@cache
def baseline_body(size: int) -> bytes:
    """A JSON object of exactly `size` bytes (at least 16)."""
    head = b'{"padding": "'
    tail = b'"}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def baseline(request, size: int):
    return HttpResponse(baseline_body(size), content_type="application/json")


urlpatterns = [
    path("bench/baseline/<int:size>/", baseline, name="bench-baseline"),
    path("", include("lifecycle.urls")),
]
