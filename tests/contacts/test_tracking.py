"""Site tracking: /t/s.js, /t/collect (origins, limits, DNT, identify), the drain that writes queued visits,
the settings page and the report.

/t/collect queues page visits in a Redis stream; `drain()` runs the drain the beat task runs (the real one, on
the real Redis), so a test sees visits exactly when production would, after the next drain."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts import events as spine
from contacts import tracking
from contacts.models import Contact, Event, PageVisit, TrackingSettings, Visitor
from contacts.views.tracking import MAX_BODY
from lifecycle.celery import app as celery_app
from tests.contacts.api_factories import ContactFactory

pytestmark = pytest.mark.django_db

SITE = "https://www.example.com"
COLLECT = "/t/collect"
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "x" * 2000,
           "\ud800 lone surrogate", "nul\x00byte"]


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # the rate-limit counters and the visit stream (this run's own Redis db)
    tracking.config_forget()  # settings cached in this process by an earlier test
    yield
    cache.clear()
    tracking.config_forget()


def drain() -> int:
    return tracking.visits_drain()


@pytest.fixture
def tracking_on(db):
    return TrackingSettings.objects.update_or_create(pk=1, defaults={
        "enabled": True, "allowed_domains": "example.com", "honour_do_not_track": True})[0]


def post(client, payload, *, origin=SITE, raw: bytes | None = None, **headers):
    body = raw if raw is not None else json.dumps(payload).encode()
    if origin:
        headers["HTTP_ORIGIN"] = origin
    return client.generic("POST", COLLECT, body, content_type="text/plain", **headers)


def page(client, url=f"{SITE}/pricing", vid="", **kwargs):
    return post(client, {"type": "page", "url": url, "title": "Pricing", "referrer": "https://google.com/",
                         "vid": vid}, **kwargs)


# --- The script ---------------------------------------------------------------------------------------

def test_script_is_javascript_cached_briefly_with_the_settings_written_in(client, tracking_on):
    tracking_on.wait_for_consent = True
    tracking_on.save()
    response = client.get("/t/s.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "public, max-age=300"
    body = response.content.decode()
    assert "honourDoNotTrack: true, waitForConsent: true" in body
    assert "__LC_" not in body
    assert "identify" in body and "lc_vid" in body


# --- Collect ------------------------------------------------------------------------------------------

def test_a_page_visit_from_an_allowed_site_is_stored_with_a_fresh_visitor_key(client, tracking_on):
    response = page(client)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SITE
    vid = response.json()["vid"]
    assert len(vid) >= 32 and tracking.key_signed(vid)
    assert not PageVisit.objects.exists()  # queued: written by the next drain

    again = page(client, url=f"{SITE}/docs", vid=vid)  # the key is trusted before its visitor row exists
    assert again.json()["vid"] == vid
    assert drain() == 2
    visitor = Visitor.objects.get()
    assert visitor.key == vid and visitor.contact is None
    visit = PageVisit.objects.get(path="/pricing")
    assert (visit.path, visit.title, visit.referrer, visit.is_entry) == ("/pricing", "Pricing", "https://google.com/",
                                                                         True)
    assert not Event.objects.filter(type="page_visited").exists()  # anonymous: no contact yet
    assert PageVisit.objects.get(path="/docs").is_entry is False  # same visit, not an entry page

    page(client, url=f"{SITE}/later", vid=vid)  # a later drain: "earlier" includes visits already stored
    drain()
    assert Visitor.objects.count() == 1
    assert PageVisit.objects.get(path="/later").is_entry is False


def test_a_key_the_client_made_up_is_replaced_by_one_from_the_server(client, tracking_on):
    made_up = "A" * 40
    forged = tracking.new_key()[:-1] + "A"  # a real-looking key with a wrong signature
    for key in (made_up, forged):
        response = page(client, vid=key)
        assert response.json()["vid"] != key and tracking.key_signed(response.json()["vid"])
    drain()
    assert not Visitor.objects.filter(key__in=[made_up, forged]).exists()
    assert Visitor.objects.count() == 2


def test_a_key_made_before_keys_were_signed_is_kept_when_the_database_knows_it(client, tracking_on):
    old = Visitor.objects.create(key="B" * 32, first_seen_at=timezone.now(), last_seen_at=timezone.now())
    assert page(client, vid=old.key).json()["vid"] == old.key
    drain()
    assert PageVisit.objects.get().visitor == old


def test_a_subdomain_of_an_allowed_domain_is_allowed(client, tracking_on):
    assert page(client, url="https://blog.example.com/a", origin="https://blog.example.com").status_code == 200


@pytest.mark.parametrize("origin", ["https://evil.test", "https://example.com.evil.test", "https://notexample.com",
                                    "null", ""])
def test_other_origins_get_403_and_nothing_is_stored(client, tracking_on, origin):
    response = page(client, url="https://evil.test/x" if "evil" in origin else f"{SITE}/x", origin=origin)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    drain()
    assert not PageVisit.objects.exists() and not Visitor.objects.exists()


def test_a_page_url_on_another_domain_is_refused_even_from_an_allowed_origin(client, tracking_on):
    assert page(client, url="https://evil.test/").status_code == 403
    drain()
    assert not PageVisit.objects.exists()


def test_tracking_off_refuses_everything(client, tracking_on):
    assert page(client).status_code == 200  # the settings are now cached in this process...
    tracking_on.enabled = False
    tracking_on.save()  # ...and saving them drops that copy
    assert page(client).status_code == 403
    drain()
    assert PageVisit.objects.count() == 1


def test_preflight_answers_allowed_origins_only(client, tracking_on):
    ok = client.options(COLLECT, HTTP_ORIGIN=SITE)
    assert ok.status_code == 204 and ok["Access-Control-Allow-Origin"] == SITE
    refused = client.options(COLLECT, HTTP_ORIGIN="https://evil.test")
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused


def test_a_body_over_the_limit_gets_413(client, tracking_on):
    payload = {"type": "page", "url": f"{SITE}/", "title": "x" * MAX_BODY}
    assert page(client).status_code == 200
    response = post(client, payload)
    assert response.status_code == 413
    drain()
    assert PageVisit.objects.count() == 1


DEEP = [b"[" * 3000 + b"]" * 3000, b'{"a":' * 1300 + b"1" + b"}" * 1300]  # under MAX_BODY, too deep to parse


@pytest.mark.parametrize("raw", [*DEEP, b"not json", b"[1, 2]", b"\xff\xfe\xfa", b'{"type": "page"}',
                                 b'{"type": "nope"}',
                                 b'{"type": "page", "url": "javascript:alert(1)"}',
                                 b'{"type": "page", "url": "/relative"}',
                                 b'{"type": "page", "url": ["https://www.example.com/"]}',
                                 json.dumps({"type": "page", "url": SITE + "/" + "a" * 2100}).encode()],
                         ids=lambda raw: raw[:30].decode("latin-1"))
def test_bad_bodies_get_400_never_500(client, tracking_on, raw):
    assert len(raw) <= MAX_BODY
    response = post(client, None, raw=raw)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    drain()
    assert not PageVisit.objects.exists()


def test_do_not_track_and_global_privacy_control_store_nothing(client, tracking_on):
    assert page(client, HTTP_DNT="1").status_code == 204
    assert page(client, HTTP_SEC_GPC="1").status_code == 204
    drain()
    assert not PageVisit.objects.exists()
    tracking_on.honour_do_not_track = False
    tracking_on.save()
    assert page(client, HTTP_DNT="1").status_code == 200


def test_requests_over_the_rate_limit_get_429(client, tracking_on, settings):
    settings.TRACKING_RATE_PER_MINUTE = 3
    statuses = [page(client).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    drain()
    assert PageVisit.objects.count() == 3  # nothing queued over the limit
    other_ip = page(client, REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 200


def test_a_page_visit_makes_no_database_query(client, tracking_on, django_assert_num_queries):
    vid = page(client).json()["vid"]  # reads the settings once for this process
    with django_assert_num_queries(0):
        assert page(client, url=f"{SITE}/next", vid=vid).status_code == 200
        assert page(client, url=f"{SITE}/new-visitor").status_code == 200


def test_the_drain_writes_a_batch_in_a_fixed_number_of_queries(client, tracking_on, django_assert_max_num_queries):
    contact = ContactFactory(email="ada@example.com")
    vid = page(client).json()["vid"]
    post(client, {"type": "identify", "email": contact.email, "vid": vid})
    for n in range(30):
        page(client, url=f"{SITE}/p{n}", vid=vid if n % 2 else "")
    with django_assert_max_num_queries(8):
        assert drain() == 31
    assert Event.objects.filter(contact=contact, type="page_visited").count() == 16


# --- Identify -----------------------------------------------------------------------------------------

@pytest.fixture
def published(monkeypatch):
    batches: list[list[int]] = []
    monkeypatch.setattr(spine, "_consumers", {})
    spine.register_consumer("test", batches.append)
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    return batches


def test_identify_attaches_earlier_anonymous_visits_in_one_statement(
        client, tracking_on, published, django_capture_on_commit_callbacks):
    contact = ContactFactory(email="ada@example.com")
    vid = page(client).json()["vid"]
    page(client, url=f"{SITE}/docs", vid=vid)
    other_vid = page(client, url=f"{SITE}/other").json()["vid"]  # someone else: stays anonymous
    drain()

    with CaptureQueriesContext(__import__("django.db").db.connection) as queries, \
            django_capture_on_commit_callbacks(execute=True):
        response = post(client, {"type": "identify", "email": "ADA@example.com", "vid": vid})
    assert response.status_code == 200 and response.json() == {"vid": vid}
    assert sum("INSERT INTO contacts_event" in q["sql"] for q in queries.captured_queries) == 1

    events = Event.objects.filter(contact=contact, type="page_visited").order_by("occurred_at")
    assert [e.properties["url"] for e in events] == [f"{SITE}/pricing", f"{SITE}/docs"]
    assert all(e.channel == "website" and e.source == "tracking" for e in events)
    assert published == [sorted(e.pk for e in events)] or sorted(published[0]) == sorted(e.pk for e in events)
    assert Visitor.objects.get(key=vid).contact == contact
    assert PageVisit.objects.get(visitor__key=other_vid).contact is None
    contact.refresh_from_db()
    assert contact.last_activity_at == events.last().occurred_at

    # Later visits of an identified visitor go to the timeline as soon as they are drained.
    page(client, url=f"{SITE}/after", vid=vid)
    with django_capture_on_commit_callbacks(execute=True):
        drain()
    assert Event.objects.filter(contact=contact, type="page_visited").count() == 3
    assert sorted(published[-1]) == [Event.objects.get(properties__url=f"{SITE}/after").pk]


def test_a_visit_still_queued_when_identify_happens_ends_up_on_the_contact(
        client, tracking_on, published, django_capture_on_commit_callbacks):
    contact = ContactFactory(email="ada@example.com")
    vid = page(client).json()["vid"]
    page(client, url=f"{SITE}/docs", vid=vid)
    drain()  # the first two are stored...
    page(client, url=f"{SITE}/queued", vid=vid)  # ...this one is still in the stream
    assert post(client, {"type": "identify", "email": contact.email, "vid": vid}).status_code == 200
    assert Event.objects.filter(contact=contact, type="page_visited").count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert drain() == 1
    events = Event.objects.filter(contact=contact, type="page_visited")
    assert sorted(e.properties["url"] for e in events) == [f"{SITE}/docs", f"{SITE}/pricing", f"{SITE}/queued"]
    queued = events.get(properties__url=f"{SITE}/queued")
    assert published[-1] == [queued.pk]
    assert PageVisit.objects.get(path="/queued").contact == contact


def test_identify_before_any_visit_was_drained_links_the_visitor_the_drain_then_creates(client, tracking_on):
    vid = page(client).json()["vid"]
    assert post(client, {"type": "identify", "email": "new@example.com", "vid": vid}).json() == {"vid": vid}
    drain()
    contact = Contact.objects.get(email="new@example.com")
    assert Visitor.objects.get().contact == contact
    assert Event.objects.get(contact=contact, type="page_visited").properties["url"] == f"{SITE}/pricing"


def test_a_form_submission_links_a_visitor_whose_visits_are_still_queued(client, tracking_on):
    from contacts.leadforms.submit import form_submit
    from contacts.models import LeadForm, LeadFormField

    form = LeadForm.objects.create(name="Ebook", public_key="f" * 32, min_fill_seconds=0)
    LeadFormField.objects.create(form=form, target="email", label="Email", required=True, position=0)
    vid = page(client).json()["vid"]
    made_up = tracking.new_key()[:-2] + "xx"
    assert form_submit(form, {"email": "grace@example.com"}, ip="203.0.113.5", visitor_key=vid).status == "ok"
    assert form_submit(form, {"email": "eve@example.com"}, ip="203.0.113.6", visitor_key=made_up).status == "ok"
    drain()
    grace = Contact.objects.get(email="grace@example.com")
    assert Event.objects.get(contact=grace, type="page_visited").properties["url"] == f"{SITE}/pricing"
    assert not Visitor.objects.filter(key=made_up).exists()  # a key the server never made links nothing


# --- The drain: once each, whatever fails -----------------------------------------------------------

def stream_length() -> int:
    return tracking._redis().xlen(tracking.STREAM)


def pending() -> int:
    return tracking._redis().xpending(tracking.STREAM, tracking.GROUP)["pending"]


def test_draining_again_and_re_claimed_entries_write_nothing_twice(client, tracking_on):
    contact = ContactFactory(email="ada@example.com")
    vid = page(client).json()["vid"]
    post(client, {"type": "identify", "email": contact.email, "vid": vid})
    for n in range(3):
        page(client, url=f"{SITE}/p{n}", vid=vid)
    assert drain() == 4
    assert drain() == 0

    # A drain that reads a batch, commits it, and dies before acknowledging it:
    for n in range(3, 6):
        page(client, url=f"{SITE}/p{n}", vid=vid)
    redis_client = tracking._redis()
    entries = redis_client.xreadgroup(tracking.GROUP, "dying-drain", {tracking.STREAM: ">"}, count=100)[0][1]
    assert len(entries) == 3
    assert tracking.visits_write(entries) == 3
    assert pending() == 3
    assert drain() == 0  # its entries are not idle for long enough to be taken over yet
    assert pending() == 3
    assert tracking.visits_drain(claim_idle_ms=0) == 0  # taken over: written already, so nothing is written
    assert pending() == 0 and stream_length() == 0
    assert PageVisit.objects.count() == 7
    assert Event.objects.filter(contact=contact, type="page_visited").count() == 7
    assert sorted(PageVisit.objects.values_list("path", flat=True)) == ["/p0", "/p1", "/p2", "/p3", "/p4", "/p5",
                                                                          "/pricing"]


def test_entries_a_drain_read_but_never_wrote_are_written_by_the_next(client, tracking_on):
    assert drain() == 0  # nothing to write; sets the stream's consumer group up
    page(client)
    page(client, url=f"{SITE}/docs")
    tracking._redis().xreadgroup(tracking.GROUP, "dead-drain", {tracking.STREAM: ">"}, count=100)
    assert pending() == 2 and not PageVisit.objects.exists()
    assert tracking.visits_drain(claim_idle_ms=0) == 2
    assert PageVisit.objects.count() == 2 and pending() == 0 and stream_length() == 0


@pytest.mark.parametrize("bad", [
    {"junk": "1"},
    {"key": "short", "url": f"{SITE}/x", "at": "1700000000"},
    {"key": "K" * 40, "url": "javascript:alert(1)", "at": "1700000000"},
    {"key": "K" * 40, "url": f"{SITE}/x", "at": "not a time"},
    {"key": "K" * 40, "url": f"{SITE}/x", "at": "1e300"},
    {"key": "K" * 40, "url": f"{SITE}/x", "at": "nan"},
    {"key": "K" * 40, "url": f"{SITE}/\x00", "title": "\x00" * 5000, "at": "1700000000"},
    {"v": "not json"},
    {"v": '"a string"'},
    {"v": "[" * 5000 + "]" * 5000},
], ids=["no-fields", "short-key", "js-url", "bad-time", "huge-time", "nan-time", "odd-text", "v-not-json",
        "v-not-object", "v-too-deep"])
def test_a_bad_entry_in_the_stream_does_not_hold_back_the_good_ones(client, tracking_on, bad):
    page(client, url=f"{SITE}/before")
    tracking._redis().xadd(tracking.STREAM, bad)
    page(client, url=f"{SITE}/after")
    drain()
    assert {"/before", "/after"} <= set(PageVisit.objects.values_list("path", flat=True))
    assert PageVisit.objects.count() <= 3
    assert pending() == 0 and stream_length() == 0  # the bad one is dropped, not retried for ever


def test_the_beat_schedule_runs_the_drain_every_second_or_two(settings):
    from contacts.tasks import tracking_visits_drain

    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == tracking_visits_drain.name)
    assert entry["schedule"] <= 2 and entry["options"]["expires"] < entry["schedule"]


def test_identify_answers_the_same_for_a_known_and_an_unknown_email(client, tracking_on):
    ContactFactory(email="known@example.com")
    vid_a = page(client).json()["vid"]
    vid_b = page(client).json()["vid"]
    known = post(client, {"type": "identify", "email": "known@example.com", "vid": vid_a})
    unknown = post(client, {"type": "identify", "email": "new@example.com", "vid": vid_b})
    assert known.status_code == unknown.status_code == 200
    assert set(known.json()) == set(unknown.json()) == {"vid"}
    assert known.headers.keys() == unknown.headers.keys()
    # An unknown, valid email becomes a contact, with the visits.
    drain()
    new = Contact.objects.get(email="new@example.com")
    assert Event.objects.filter(contact=new, type="page_visited").count() == 1


@pytest.mark.parametrize("email", ["not an email", "", None, ["a@example.com"], "<script>@x", "a@\ud800.com"])
def test_identify_with_a_bad_email_gets_400_and_creates_nothing(client, tracking_on, email):
    vid = page(client).json()["vid"]
    count = Contact.objects.count()
    assert post(client, {"type": "identify", "email": email, "vid": vid}).status_code == 400
    drain()
    assert Contact.objects.count() == count
    assert Visitor.objects.get(key=vid).contact is None


# --- Hostile payloads: stored as text, shown escaped -------------------------------------------------

def test_hostile_titles_urls_and_referrers_are_escaped_on_the_timeline_and_the_report(client, tracking_on, personas):
    vid = ""
    for value in HOSTILE:
        response = post(client, {"type": "page", "url": f"{SITE}/p?q={value[:300]}".replace(" ", "%20"),
                                 "title": value, "referrer": value, "vid": vid})
        assert response.status_code in (200, 400), value[:20]
        if response.status_code == 200:
            vid = response.json()["vid"]
    post(client, {"type": "page", "url": SITE + '/"><img src=x onerror=alert(1)>', "title": "<b>t</b>", "vid": vid})
    post(client, {"type": "page", "url": SITE + "/<script>alert(1)</script>", "vid": vid})
    drain()
    assert PageVisit.objects.count() >= 3
    assert max(len(v.title) for v in PageVisit.objects.all()) == 300  # the overlong title, cut
    assert all(v.referrer == "" for v in PageVisit.objects.all())  # none of the hostile referrers is a URL
    assert post(client, {"type": "identify", "email": "victim@example.com", "vid": vid}).status_code == 200
    contact = Contact.objects.get(email="victim@example.com")

    client.force_login(personas.admin)
    for url in (reverse("contacts:detail", args=[contact.pk]), reverse("tracking:report")):
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>t</b>" not in html, url
        assert 'href="javascript:' not in html
    timeline = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert "Page visited" in timeline and "&lt;script&gt;alert(1)&lt;/script&gt;" in timeline
    report = client.get(reverse("tracking:report")).content.decode()
    assert "/&lt;script&gt;alert(1)&lt;/script&gt;" in report


# --- Settings and the report -------------------------------------------------------------------------

@pytest.mark.parametrize(("persona", "status"), [("admin", 200), ("marketer", 200), ("manager", 403),
                                                  ("rep_alice", 403)])
def test_who_may_open_tracking_settings(client, personas, persona, status):
    client.force_login(getattr(personas, persona))
    response = client.get(reverse("tracking:settings"))
    assert response.status_code == status
    if status == 200:
        assert "/t/s.js" in response.content.decode() and "data-lifecycle" in response.content.decode()


def test_settings_save_cleans_domains_and_refuses_bad_ones(client, personas):
    client.force_login(personas.marketer)
    url = reverse("tracking:settings")
    bad = client.post(url, {"enabled": "on", "allowed_domains": "example.com\nnot a domain<script>"})
    assert bad.status_code == 400
    assert "Not a domain" in bad.content.decode() and "<script>" not in bad.content.decode().split("Not a domain")[1]
    empty = client.post(url, {"enabled": "on", "allowed_domains": ""})
    assert empty.status_code == 400
    ok = client.post(url, {"enabled": "on", "allowed_domains": "https://Example.com/path\n*.shop.test\nexample.com",
                           "honour_do_not_track": "on"})
    assert ok.status_code == 302
    config = TrackingSettings.load()
    assert config.enabled and config.domains == ["example.com", "shop.test"] and not config.wait_for_consent


def test_report_counts_top_pages_and_entry_pages_in_the_period(client, personas, tracking_on,
                                                               django_assert_max_num_queries):
    a, b = page(client).json()["vid"], page(client).json()["vid"]  # two entries on /pricing
    page(client, url=f"{SITE}/docs", vid=a)
    page(client, url=f"{SITE}/docs", vid=b)
    page(client, url=f"{SITE}/docs", vid=b)
    old = page(client, url=f"{SITE}/old").json()["vid"]
    drain()
    PageVisit.objects.filter(visitor__key=old).update(occurred_at=timezone.now() - timedelta(days=40))
    client.force_login(personas.rep_alice)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("tracking:report"))
    top, entries = response.context["top_pages"], response.context["entry_pages"]
    assert [(r["path"], r["views"], r["visitors"]) for r in top] == [("/docs", 3, 2), ("/pricing", 2, 2)]
    assert [(r["path"], r["entries"], r["visitors"]) for r in entries] == [("/pricing", 2, 2)]
    ninety = client.get(reverse("tracking:report") + "?days=90").context["top_pages"]
    assert "/old" in [r["path"] for r in ninety]


def test_report_empty_state_says_what_to_do(client, personas):
    client.force_login(personas.marketer)
    html = client.get(reverse("tracking:report")).content.decode()
    assert "No page visits" in html and reverse("tracking:settings") in html


def test_a_merge_moves_visitors_so_their_visits_are_not_attached_twice(client, tracking_on):
    from contacts.merge import contacts_merge

    primary, duplicate = ContactFactory(email="ada@example.com"), ContactFactory(email="ada@work.example.com")
    vid = page(client).json()["vid"]
    post(client, {"type": "identify", "email": duplicate.email, "vid": vid})
    drain()
    contacts_merge(primary=primary, duplicate=duplicate)
    assert Visitor.objects.get(key=vid).contact == primary
    page(client, url=f"{SITE}/after-merge", vid=vid)
    drain()
    assert sorted(Event.objects.filter(contact=primary, type="page_visited").values_list("properties__url", flat=True)
                  ) == [f"{SITE}/after-merge", f"{SITE}/pricing"]


def test_seed_demo_has_site_visits_for_the_report(client, personas):
    from django.core.management import call_command

    call_command("seed_demo", contacts=40)
    visits = PageVisit.objects.all()
    assert visits.filter(contact__isnull=False).exists() and visits.filter(contact__isnull=True).exists()
    assert all(v.contact_id == v.visitor.contact_id for v in visits.select_related("visitor"))
    assert visits.filter(is_entry=True).count() >= Visitor.objects.count()
    client.force_login(personas.marketer)
    assert client.get(reverse("tracking:report") + "?days=90").context["top_pages"]


def test_with_redis_down_visits_are_written_straight_away(client, tracking_on, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": settings.REDIS_URL}}
    vid = page(client).json()["vid"]
    assert page(client, url=f"{SITE}/docs", vid=vid).status_code == 200
    assert [(v.path, v.is_entry) for v in PageVisit.objects.order_by("id")] == [("/pricing", True), ("/docs", False)]
    assert Visitor.objects.get().key == vid


def test_a_visit_both_queued_and_written_directly_is_stored_once(client, tracking_on):
    """Redis kept the visit but its reply was lost (a timeout): collect_request wrote it directly too. Both copies
    carry the id the web process made, so the drain's copy stores nothing more."""
    import json

    page(client)
    [(_entry_id, fields)] = tracking._redis().xrange(tracking.STREAM)
    visit = json.loads(fields["v"])
    assert len(visit["id"]) == 32
    assert tracking.visits_write([(visit["id"], visit)]) == 1  # the direct write
    drain()
    assert PageVisit.objects.count() == 1
    assert PageVisit.objects.get().stream_id == visit["id"]


def test_only_one_drain_runs_at_a_time(client, tracking_on):
    page(client)
    held = tracking._redis().lock(tracking.DRAIN_LOCK, timeout=30)
    assert held.acquire(blocking=False)
    try:
        assert tracking.visits_drain() == 0  # another drain holds the lock: this one leaves the entries alone
        assert not PageVisit.objects.exists()
    finally:
        held.release()
    assert tracking.visits_drain() == 1


def test_an_unsigned_key_of_another_length_costs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert tracking.key_known("a" * 33) is False
        assert tracking.key_known("a" * 64) is False
    with django_assert_num_queries(1):  # a key made before keys were signed is looked up
        assert tracking.key_known("a" * 32) is False


@pytest.mark.parametrize(("url", "host"), [
    ("https://www.example.com/a\\b?q=\\", "www.example.com"),  # a backslash after the host is only a path
    ("https://evil.example\\@example.com/", None),  # browsers go to evil.example; never "example.com"
    ("https://evil.example\\.example.com", None),
    ("https://user@example.com/", "example.com"),
    ("javascript://example.com/%0aalert(1)", None),
])
def test_origin_host_reads_the_host_a_browser_would_go_to(url, host):
    assert tracking.origin_host(url) == host
