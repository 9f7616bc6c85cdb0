"""Helpers shared by the public (internet-facing) endpoints: site tracking (/t/) and lead forms (/f/)."""

from axes.helpers import get_client_ip_address

__all__ = ["client_ip", "cors", "read_body"]


def cors(response, origin: str | None, methods: str = "POST"):
    """Allow the (already checked) origin to read the answer; nothing for anyone else."""
    response["Vary"] = "Origin"
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = methods
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
    response["Cache-Control"] = "no-store"
    return response


def read_body(request, limit: int) -> bytes | None:
    """The body, or None when it is over `limit` bytes (by its Content-Length, or as read)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def client_ip(request) -> str:
    """The client's address as the login lockout (django-axes) sees it, proxies included (PROXY_COUNT)."""
    return get_client_ip_address(request) or "unknown"
