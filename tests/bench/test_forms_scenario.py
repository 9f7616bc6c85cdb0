"""The form-submission scenario (bench/scenarios/forms.py) at a tiny size: every submission is accepted,
both sides are measured, and what it made is removed."""

import pytest

from bench.scenarios import Context
from bench.scenarios.forms import form_submit
from contacts.models import Contact, ContactList, Event, LeadForm, Tag
from pipelines.models import Deal, Pipeline

pytestmark = pytest.mark.django_db


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in (Contact, ContactList, Event, LeadForm, Tag, Deal,
                                                                 Pipeline)}


def test_form_submit_measures_accepted_submissions_and_removes_what_they_made(settings):
    settings.ROOT_URLCONF = "bench.urls"  # the baseline view
    before = counts()

    [result] = form_submit(Context(scale="tiny", dataset=None, log=lambda _m: None), runs=5)

    assert result.name == "form_submit" and not result.status, result.notes
    assert result.details["statuses"] == [200]
    assert result.figure > 0 and result.baseline > 0
    assert "12 contacts made" in result.notes  # 5 runs + 10 warm-up, every fifth an earlier contact again
    assert counts() == before
