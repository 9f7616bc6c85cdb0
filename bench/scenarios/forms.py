"""Lead forms (issue 5): server time of an accepted form submission.

`form_submit`: POSTs to `/f/<key>/submit/` (the endpoint the JS embed and the HTML snippet use) through the
Django test client in this process (middleware, token check, spam checks, the whole submission transaction;
no network), as JSON. The bench form does what a busy marketing form does: a tag, a list, a lifecycle stage
if earlier and a deal in a pipeline's first stage. Every submission is a new contact, and every fifth an
existing one updated, RUNS in all after a warm-up; the figure is the p95. Baseline: the plain Django view
`/bench/baseline/64/` through the same client and middleware, interleaved with the submissions.

The form, its pipeline, tag and list, and the contacts, deals and events the submissions made are removed
afterwards.
"""

import secrets
import statistics
import time
from urllib.parse import urlsplit

from django.db import connection
from django.test import Client

from bench.scenarios import Context, Goal, Result, p95
from contacts.leadforms import publish
from contacts.models import Contact, ContactList, LeadForm, LeadFormField, Tag
from pipelines.models import Pipeline
from pipelines.services import pipeline_create

__all__ = ["form_submit"]

RUNS = 200
WARMUP = 10
ISSUE = "5"
PREFIX = "bench-form-"



def _timed(call) -> tuple[float, int]:
    started = time.perf_counter()
    response = call()
    return (time.perf_counter() - started) * 1000, response.status_code


def _form() -> LeadForm:
    form = LeadForm.objects.create(
        name="Bench form", lead_magnet="Bench ebook", public_key=secrets.token_urlsafe(24), min_fill_seconds=0,
        rate_per_ip=32_000, rate_per_form=1_000_000, allowed_domains="bench.example",
        pipeline=pipeline_create(name="Bench forms pipeline"))
    LeadFormField.objects.create(form=form, target="email", label="Email", required=True, position=0)
    LeadFormField.objects.create(form=form, target="first_name", label="First name", position=1)
    LeadFormField.objects.create(form=form, target="title", label="Job title", position=2)
    form.tags.add(Tag.objects.get_or_create(name=f"{PREFIX}tag")[0])
    form.lists.add(ContactList.objects.get_or_create(name=f"{PREFIX}list")[0])
    return form


def _cleanup(form: LeadForm) -> None:
    pipeline_id = form.pipeline_id
    form.delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pipelines_dealstagehistory WHERE deal_id IN "
                       "(SELECT id FROM pipelines_deal WHERE pipeline_id = %s)", [pipeline_id])
        cursor.execute("DELETE FROM pipelines_deal WHERE pipeline_id = %s", [pipeline_id])
    Pipeline.objects.filter(pk=pipeline_id).delete()
    Contact.objects.filter(email__startswith=PREFIX).delete()
    Tag.objects.filter(name=f"{PREFIX}tag").delete()
    ContactList.objects.filter(name=f"{PREFIX}list").delete()


def form_submit(ctx: Context, *, runs: int = RUNS) -> list[Result]:
    form = _form()
    try:
        client = Client(HTTP_HOST="localhost")
        path = urlsplit(publish.hosted_url(form)).path + "submit/"
        token = publish.form_token(form, rendered=False)
        figures, baselines, statuses = [], [], set()
        for index in range(runs + WARMUP):
            number = index - index % 5 if index % 5 == 4 else index  # every fifth updates an earlier contact
            body = {"email": f"{PREFIX}{number}@example.com", "first_name": f"Person {index}",
                    "title": "Head of growth", publish.TOKEN_FIELD: token}
            figure, status = _timed(lambda body=body: client.post(
                path, body, content_type="application/json", HTTP_ACCEPT="application/json",
                HTTP_ORIGIN="https://bench.example"))
            baseline, _ = _timed(lambda: client.get("/bench/baseline/64/"))
            statuses.add(status)
            if index >= WARMUP:
                figures.append(figure)
                baselines.append(baseline)
        made = Contact.objects.filter(email__startswith=PREFIX).count()
    finally:
        _cleanup(form)
    figure, baseline = p95(figures), p95(baselines)
    notes = (f"p95 of {runs} submissions (median {statistics.median(figures):.1f} ms) to /f/<key>/submit/ in "
             f"process: contact, submission, event, tag, list, deal; every fifth an existing contact; "
             f"{made} contacts made; baseline median {statistics.median(baselines):.2f} ms")
    result = Result(name="form_submit", title="Form submission (server time, p95)", unit="ms", figure=figure,
                    baseline=baseline, baseline_label="plain Django view", higher_is_better=False,
                    goal=Goal("<", 100, "ms"), issue=ISSUE, notes=notes,
                    details={"runs": runs, "median_ms": statistics.median(figures), "statuses": sorted(statuses),
                             "samples_ms": [round(v, 2) for v in figures]})
    if statuses != {200}:
        result.status, result.notes = "error", notes + f"; answers {sorted(statuses)}, not all 200"
    return [result]
