"""Lifecycle: the project package, and the customer-lifecycle domain
(stage sets, stage transitions, journey analytics, the dashboard)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
