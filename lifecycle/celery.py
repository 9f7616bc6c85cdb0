"""The Celery app. Configuration lives in settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lifecycle.settings")

app = Celery("lifecycle")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

#: Every queue a worker should consume; routing is in settings.CELERY_TASK_ROUTES.
QUEUES = ("default", "email", "bulk", "scoring")
