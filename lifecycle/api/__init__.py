"""The API rails every app's endpoints run on.

- views.py: the base classes (ApiView, ApiModelViewSet, ...) every /api/v1/ view derives from
- errors.py: the one JSON error shape; idempotency.py: Idempotency-Key on POST
- throttling.py: the per-key budget in Redis; pagination.py: cursor pages
- schema.py: what the OpenAPI schema adds to every operation; urls.py: /api/ and its JSON 404
"""
