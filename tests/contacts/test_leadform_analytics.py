"""Form analytics at /forms/<pk>/analytics/: totals and rate, zero-filled days, the period switch, the latest
submissions (paginated, linked only to contacts the user may open), escaping and the query count."""

import json
import re
import secrets
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from contacts.leadforms.stats import form_count
from contacts.leadforms.submit import form_submit
from contacts.models import Contact, LeadForm, LeadFormField, LeadFormSubmission

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # form_submit's rate-limit counters
    yield
    cache.clear()


@pytest.fixture
def form(db):
    form = LeadForm.objects.create(name="Pricing ebook", public_key=secrets.token_hex(16), min_fill_seconds=0,
                                   rate_per_ip=1000, allowed_domains="example.com")
    LeadFormField.objects.create(form=form, target="email", label="Work email", required=True, position=0)
    LeadFormField.objects.create(form=form, target="first_name", label="Your first name", position=1)
    return form


def url(form, query=""):
    return reverse("leadforms:analytics", args=[form.pk]) + query


def today():
    return timezone.now().date()


def text_of(html: str, testid: str) -> str:
    match = re.search(rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, testid
    return re.sub(r"<[^>]+>", "", match.group(2)).strip()


def day_rows(html: str) -> dict[str, tuple[int, int, int]]:
    """The per-day table, the page's source of truth: {"2026-12-06": (views, submissions, rejected)}."""
    table = re.search(r'data-testid="analytics-days".*?</table>', html, re.S).group(0)
    rows = {}
    for day, body in re.findall(r'<tr data-day="([0-9-]+)">(.*?)</tr>', table, re.S):
        cells = dict(re.findall(r'data-col="(\w+)">([^<]*)<', body))
        rows[day] = (int(cells["views"].replace(",", "")), int(cells["submissions"].replace(",", "")),
                     int(cells["rejected"].replace(",", "")))
    return rows


def chart_data(html: str) -> dict:
    match = re.search(r'<script id="leadform-analytics-data" type="application/json">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def submission_rows(html: str) -> dict[int, str]:
    table = re.search(r'data-testid="analytics-submissions".*?</table>', html, re.S)
    if not table:
        return {}
    return {int(pk): body for pk, body in re.findall(r'<tr data-submission="(\d+)">(.*?)</tr>', table.group(0), re.S)}


def add_submissions(form, contacts, *, data=None, page_url="https://www.example.com/pricing"):
    now = timezone.now()
    return LeadFormSubmission.objects.bulk_create([
        LeadFormSubmission(form=form, contact=contact, data=data or {"email": contact.email if contact else "x@y.z"},
                           page_url=page_url, submitted_at=now - timedelta(minutes=i))
        for i, contact in enumerate(contacts)])


# --- Access -----------------------------------------------------------------------------------------------

def test_it_asks_anonymous_visitors_to_log_in(client, form):
    response = client.get(url(form))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_an_unknown_form_is_a_404(client, personas, form):
    client.force_login(personas.marketer)
    assert client.get(reverse("leadforms:analytics", args=[form.pk + 1000])).status_code == 404


@pytest.mark.parametrize("who", ["admin", "manager", "marketer", "rep_alice", "outsider"])
def test_any_logged_in_user_sees_the_page_like_the_form_list(client, personas, form, who):
    client.force_login(getattr(personas, who))
    assert client.get(reverse("leadforms:list")).status_code == 200
    response = client.get(url(form))
    assert response.status_code == 200
    assert text_of(response.content.decode(), "analytics-title") == "Pricing ebook"


def test_the_form_list_links_each_form_to_its_analytics(client, personas, form):
    client.force_login(personas.rep_alice)
    html = client.get(reverse("leadforms:list")).content.decode()
    assert f'href="{url(form)}"' in html


def test_it_only_answers_get(client, personas, form):
    client.force_login(personas.admin)
    assert client.post(url(form)).status_code == 405


# --- Totals, rate and days ----------------------------------------------------------------------------

def test_it_totals_the_period_and_computes_the_rate(client, personas, form):
    other = LeadForm.objects.create(name="Other", public_key=secrets.token_hex(16))
    form_count(form.pk, views=30, submissions=6, rejected=2)
    form_count(form.pk, views=10, submissions=4, rejected=1, day=today() - timedelta(days=29))
    form_count(form.pk, views=500, submissions=500, rejected=500, day=today() - timedelta(days=30))  # outside
    form_count(other.pk, views=1000, submissions=1000, rejected=1000)  # another form
    client.force_login(personas.marketer)
    html = client.get(url(form)).content.decode()
    assert text_of(html, "total-views") == "40"
    assert text_of(html, "total-submissions") == "10"
    assert text_of(html, "total-rate") == "25.0%"
    assert text_of(html, "total-rejected") == "3"


def test_the_rate_is_a_dash_without_views(client, personas, form):
    form_count(form.pk, submissions=3)  # e.g. the plain HTML snippet: submitted without a counted view
    client.force_login(personas.marketer)
    html = client.get(url(form)).content.decode()
    assert text_of(html, "total-views") == "0"
    assert text_of(html, "total-submissions") == "3"
    assert text_of(html, "total-rate") == "—"


def test_every_day_of_the_period_is_listed_zero_filled_in_the_table_and_the_chart(client, personas, form):
    form_count(form.pk, views=7, submissions=2, rejected=1, day=today() - timedelta(days=3))
    form_count(form.pk, views=5, day=today())
    form_count(form.pk, views=99, day=today() + timedelta(days=1))  # a clock ahead: not in the period
    client.force_login(personas.marketer)
    html = client.get(url(form)).content.decode()
    rows = day_rows(html)
    expected_days = [(today() - timedelta(days=n)).isoformat() for n in range(29, -1, -1)]
    assert list(rows) == expected_days
    assert rows[(today() - timedelta(days=3)).isoformat()] == (7, 2, 1)
    assert rows[today().isoformat()] == (5, 0, 0)
    assert sum(1 for r in rows.values() if r == (0, 0, 0)) == 28
    chart = chart_data(html)
    assert chart["days"] == expected_days
    assert chart["views"] == [rows[d][0] for d in expected_days]
    assert chart["submissions"] == [rows[d][1] for d in expected_days]
    assert text_of(html, "total-views") == "12"


@pytest.mark.parametrize("days", [7, 30, 90])
def test_the_period_switch_shows_that_many_days(client, personas, form, days):
    form_count(form.pk, views=1, day=today() - timedelta(days=6))
    form_count(form.pk, views=10, day=today() - timedelta(days=7))
    form_count(form.pk, views=100, day=today() - timedelta(days=60))
    client.force_login(personas.marketer)
    response = client.get(url(form, f"?days={days}"))
    html = response.content.decode()
    assert response.status_code == 200
    assert len(day_rows(html)) == days
    assert text_of(html, "total-views") == {7: "1", 30: "11", 90: "111"}[days]
    assert f'href="?days={days}" aria-current="page"' in html


@pytest.mark.parametrize("raw", ["abc", "²", "-1", "0", "1", "31", "7.0", " 7", "7 ", "+7", "٧", "", "9" * 5000,
                                 "99999999999999999999", "%00", "\x00", "<script>alert(1)</script>"])
def test_a_bad_period_falls_back_to_30_days_and_never_500s(client, personas, form, raw):
    client.force_login(personas.marketer)
    response = client.get(url(form), {"days": raw})
    assert response.status_code == 200
    html = response.content.decode()
    assert len(day_rows(html)) == 30
    assert 'href="?days=30" aria-current="page"' in html
    assert "<script>alert(1)</script>" not in html


def test_days_choice_accepts_only_the_given_periods():
    from lifecycle.forms import days_choice

    assert [days_choice(v, (7, 30, 90)) for v in ("7", "30", "90", None, "", "14", "07", "٧", "²")] == [
        7, 30, 90, 30, 30, 30, 30, 30, 30]


# --- Latest submissions ---------------------------------------------------------------------------------

def test_without_submissions_it_says_to_publish_the_form_and_links_to_where(client, personas, form):
    form_count(form.pk, views=4)
    client.force_login(personas.marketer)
    html = client.get(url(form)).content.decode()
    empty = re.search(r'data-testid="analytics-empty".*?</section>', html, re.S).group(0)
    assert "No submissions yet" in empty and "Publish the form" in empty
    assert f"/f/{form.public_key}/" in empty  # its hosted page
    assert f'href="{reverse("leadforms:edit", args=[form.pk])}#publish"' in empty  # a marketer edits it
    client.force_login(personas.rep_alice)
    empty = re.search(r'data-testid="analytics-empty".*?</section>', client.get(url(form)).content.decode(),
                      re.S).group(0)
    assert f'href="{reverse("leadforms:list")}"' in empty  # a rep may not
    assert text_of(html, "total-views") == "4"  # the views still show
    assert 'data-testid="analytics-submissions"' not in html


def test_an_inactive_form_without_submissions_says_to_make_it_active(client, personas, form):
    LeadForm.objects.filter(pk=form.pk).update(is_active=False)
    client.force_login(personas.marketer)
    html = client.get(url(form)).content.decode()
    assert "This form is inactive" in re.search(r'data-testid="analytics-empty".*?</section>', html, re.S).group(0)


def test_submissions_are_listed_newest_first_25_a_page(client, personas, form):
    contacts = Contact.objects.bulk_create([Contact(email=f"p{i}@example.com") for i in range(27)])
    created = add_submissions(form, contacts)  # created[0] is the newest
    other = LeadForm.objects.create(name="Other", public_key=secrets.token_hex(16))
    add_submissions(other, contacts[:3])
    client.force_login(personas.marketer)
    first = client.get(url(form, "?days=7")).content.decode()
    assert 'data-testid="analytics-empty"' not in first
    assert list(submission_rows(first)) == [s.pk for s in created[:25]]
    assert "Page 1 of 2" in first and 'href="?days=7&amp;page=2"' in first
    second = client.get(url(form, "?days=7&page=2")).content.decode()
    assert list(submission_rows(second)) == [s.pk for s in created[25:]]
    assert "27 in all" in second
    for bad in ("abc", "0", "-1", "9" * 5000, "²"):
        response = client.get(url(form), {"page": bad})
        assert response.status_code == 200, bad
        assert len(submission_rows(response.content.decode())) in (25, 2), bad


def test_a_row_shows_the_time_contact_page_and_answers_with_the_fields_labels(client, personas, form):
    contact = Contact.objects.create(email="ann@example.com", first_name="Ann", last_name="Lee")
    [submission] = add_submissions(form, [contact], data={"first_name": "Ann", "email": "ann@example.com",
                                                          "consent": True, "fields.gone": "kept"})
    client.force_login(personas.marketer)
    row = submission_rows(client.get(url(form)).content.decode())[submission.pk]
    assert f'<a href="{reverse("contacts:detail", args=[contact.pk])}">Ann Lee</a>' in row
    assert "https://www.example.com/pricing" in row
    answers = re.sub(r"<[^>]+>", " ", re.search(r'data-col="answers">(.*?)</td>', row, re.S).group(1))
    answers = " ".join(answers.split())
    # in the form's field order, then consent, then values of fields removed since
    assert answers == "Work email: ann@example.com Your first name: Ann Consent: Yes fields.gone: kept"
    assert f'datetime="{submission.submitted_at.isoformat()}"' in row


def test_a_rep_opens_only_contacts_they_may_see_and_a_marketer_opens_all(client, personas, form, settings):
    settings.REPS_SEE_ALL_DEALS = False
    mine = Contact.objects.create(email="mine@example.com", owner=personas.rep_alice)
    unassigned = Contact.objects.create(email="nobody@example.com")
    bobs = Contact.objects.create(email="bobs@example.com", first_name="Bob's", last_name="Lead",
                                  owner=personas.rep_bob)
    subs = dict(zip(["mine", "unassigned", "bobs"], add_submissions(form, [mine, unassigned, bobs])))
    subs["deleted"] = add_submissions(form, [None], data={"email": "gone@example.com"})[0]

    client.force_login(personas.rep_alice)
    rows = submission_rows(client.get(url(form)).content.decode())
    for name, contact in (("mine", mine), ("unassigned", unassigned)):
        assert f'href="{reverse("contacts:detail", args=[contact.pk])}"' in rows[subs[name].pk], name
        assert f"Work email:</dt> <dd class=\"d-inline mb-0\">{contact.email}" in rows[subs[name].pk], name
    bob_row = rows[subs["bobs"].pk]
    assert reverse("contacts:detail", args=[bobs.pk]) not in bob_row
    assert 'title="You cannot open this contact">Bob&#x27;s Lead</span>' in bob_row  # named, like the deal page
    assert "bobs@example.com" not in bob_row and "Hidden: you cannot open this contact." in bob_row
    assert "Deleted contact" in rows[subs["deleted"].pk] and "gone@example.com" not in rows[subs["deleted"].pk]

    client.force_login(personas.marketer)
    rows = submission_rows(client.get(url(form)).content.decode())
    for name, contact in (("mine", mine), ("unassigned", unassigned), ("bobs", bobs)):
        assert f'href="{reverse("contacts:detail", args=[contact.pk])}"' in rows[subs[name].pk], name
        assert contact.email in rows[subs[name].pk], name
    assert "Hidden" not in rows[subs["bobs"].pk]

    client.force_login(personas.outsider)  # may see the page, opens no contact
    rows = submission_rows(client.get(url(form)).content.decode())
    assert all("Hidden: you cannot open this contact." in body and "contacts/" not in body for body in rows.values())


def test_the_latest_submissions_page_takes_a_fixed_number_of_queries(client, personas, form,
                                                                     django_assert_max_num_queries):
    owners = [personas.rep_alice, personas.rep_bob, None]
    contacts = Contact.objects.bulk_create([Contact(email=f"q{i}@example.com", owner=owners[i % 3])
                                            for i in range(30)])
    add_submissions(form, contacts)
    for n in range(90):
        form_count(form.pk, views=n, submissions=n % 4, day=today() - timedelta(days=n))
    client.force_login(personas.rep_alice)
    client.get(url(form))  # warm the session
    # session, user, the user's role (its groups), form, the days (one aggregate), count, the page with its
    # contacts, the field labels, the contacts the user may open: none per row or per day
    with django_assert_max_num_queries(9):
        response = client.get(url(form, "?days=90"))
    assert len(submission_rows(response.content.decode())) == 25


# --- Escaping -------------------------------------------------------------------------------------------

def test_hostile_submissions_sent_through_the_real_submit_path_render_as_text(client, personas, form):
    LeadFormField.objects.filter(form=form, target="first_name").update(label='<b onmouseover="x()">Name</b>')
    LeadForm.objects.filter(pk=form.pk).update(name="<script>alert('name')</script>")
    form.refresh_from_db()
    hostile = '"><img src=x onerror=alert(1)><script>alert(1)</script>'
    result = form_submit(form, {"email": "evil@example.com", "first_name": hostile[:150]}, ip="203.0.113.9",
                         page_url="https://www.example.com/<script>alert(2)</script>")
    assert result.status == "ok"
    assert form_submit(form, {"email": "js@example.com"}, ip="203.0.113.9",
                       page_url="javascript:alert(3)").status == "ok"
    client.force_login(personas.admin)
    html = client.get(url(form)).content.decode()
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "<script>alert(&#x27;name&#x27;)" not in html and "<script>alert('name')" not in html
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in html  # the name, as text
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html  # the answer, as text
    assert "&lt;b onmouseover=&quot;x()&quot;&gt;Name&lt;/b&gt;" in html  # the label, as text
    assert "https://www.example.com/&lt;script&gt;alert(2)&lt;/script&gt;" in html  # the page URL, as text
    assert 'href="javascript:' not in html.lower()
    assert not re.search(r'href="[^"]*example\.com/', html)  # page URLs are text, never links
