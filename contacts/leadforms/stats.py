"""Daily view and submission counts of forms: one upsert per count, so the public endpoints never read first."""

from datetime import date

from django.db import connection
from django.utils import timezone

_UPSERT = """
INSERT INTO contacts_leadformday (form_id, day, views, submissions, rejected)
VALUES (%(form)s, %(day)s, %(views)s, %(submissions)s, %(rejected)s)
ON CONFLICT (form_id, day) DO UPDATE SET views = contacts_leadformday.views + EXCLUDED.views,
    submissions = contacts_leadformday.submissions + EXCLUDED.submissions,
    rejected = contacts_leadformday.rejected + EXCLUDED.rejected
"""


def form_count(form_id: int, *, views: int = 0, submissions: int = 0, rejected: int = 0,
               day: date | None = None) -> None:
    """Add to the form's counts for `day` (today, UTC, by default)."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, {"form": form_id, "day": day or timezone.now().date(), "views": views,
                                 "submissions": submissions, "rejected": rejected})
