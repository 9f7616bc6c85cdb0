"""Lead forms' public side: hosted page, embed JSON + CORS, submit endpoint, confirmation link, opt-in email."""

import secrets
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.core import mail, signing
from django.core.cache import cache

from contacts.leadforms import optin, publish
from contacts.models import (
    Contact,
    ContactList,
    LeadForm,
    LeadFormField,
    LeadFormSubmission,
    OptInRequest,
    Subscription,
)
from contacts.tasks import send_opt_in_email
from contacts.views.leadforms_public import MAX_BODY

pytestmark = pytest.mark.django_db

SITE = "https://www.example.com"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def form(db):
    form = LeadForm.objects.create(name="Ebook", public_key=secrets.token_hex(16), min_fill_seconds=0,
                                   allowed_domains="example.com", title="<b>Get it</b>")
    LeadFormField.objects.create(form=form, target="email", label="Email", required=True)
    return form


def submit(client, form, data, *, origin=SITE, accept="application/json", **extra):
    if origin:
        extra["HTTP_ORIGIN"] = origin
    return client.post(f"/f/{form.public_key}/submit/", urlencode(data),
                       content_type="application/x-www-form-urlencoded", HTTP_ACCEPT=accept, **extra)


def test_hosted_page_get_post_with_csrf(form):
    client = __import__("django.test", fromlist=["Client"]).Client(enforce_csrf_checks=True)
    page = client.get(f"/f/{form.public_key}/")
    assert page.status_code == 200 and b"&lt;b&gt;Get it&lt;/b&gt;" in page.content
    assert b'name="lc_hp"' in page.content and b'tabindex="-1"' in page.content
    token = publish.form_token(form)
    assert client.post(f"/f/{form.public_key}/", {"email": "a@example.com", "lc_token": token}).status_code == 403
    csrf = client.cookies["csrftoken"].value
    answer = client.post(f"/f/{form.public_key}/", {"email": "a@example.com", "lc_token": token,
                                                    "csrfmiddlewaretoken": csrf})
    assert answer.status_code == 200 and form.success_message.encode() in answer.content.replace(b"&#x27;", b"'")
    assert Contact.objects.filter(email="a@example.com").exists()


def test_redirect_only_to_allowed_hosts(client, form):
    form.redirect_url = "https://evil.test/x"
    form.save()
    answer = submit(client, form, {"email": "b@example.com", "lc_token": publish.form_token(form)})
    assert answer.json()["redirect"] == ""
    form.redirect_url = "https://www.example.com/thanks"
    form.save()
    answer = submit(client, form, {"email": "c@example.com", "lc_token": publish.form_token(form)})
    assert answer.json()["redirect"] == "https://www.example.com/thanks"
    html = submit(client, form, {"email": "d@example.com", "lc_token": publish.form_token(form, rendered=False)},
                  accept="text/html")
    assert html.status_code == 302 and html["Location"] == "https://www.example.com/thanks"


def test_embed_and_cors(client, form):
    ok = client.get(f"/f/{form.public_key}/embed/", HTTP_ORIGIN=SITE)
    assert ok.status_code == 200 and ok["Access-Control-Allow-Origin"] == SITE
    assert publish.token_read(ok.json()["token"], form.public_key)[0]
    bad = client.get(f"/f/{form.public_key}/embed/", HTTP_ORIGIN="https://evil.test")
    assert bad.status_code == 403 and "Access-Control-Allow-Origin" not in bad
    pre = client.options(f"/f/{form.public_key}/submit/", HTTP_ORIGIN=SITE)
    assert pre.status_code == 204 and pre["Access-Control-Allow-Origin"] == SITE
    assert client.options(f"/f/{form.public_key}/submit/", HTTP_ORIGIN="https://evil.test").status_code == 403
    evil = submit(client, form, {"email": "e@example.com", "lc_token": publish.form_token(form)},
                  origin="https://evil.test")
    assert evil.status_code == 403 and not Contact.objects.filter(email="e@example.com").exists()


def test_bad_and_expired_tokens_and_size(client, form):
    assert submit(client, form, {"email": "f@example.com", "lc_token": "nope"}).status_code == 400
    with mock.patch("time.time", return_value=0):
        old = publish.form_token(form)
    assert submit(client, form, {"email": "f@example.com", "lc_token": old}).status_code == 400
    big = submit(client, form, {"email": "f@example.com", "x": "y" * (MAX_BODY + 1)})
    assert big.status_code == 413
    assert not LeadFormSubmission.objects.exists()


def test_unknown_or_inactive_form_is_404(client, form):
    assert client.get("/f/nope/").status_code == 404
    form.is_active = False
    form.save()
    assert client.get(f"/f/{form.public_key}/").status_code == 404
    assert client.get(f"/f/{form.public_key}/embed.js").status_code == 404


def test_confirmation_link_and_email_once(client, form, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    weekly = ContactList.objects.create(name="Weekly", double_opt_in=True)
    form.lists.add(weekly)
    submit(client, form, {"email": "g@example.com", "lc_token": publish.form_token(form)})
    request = OptInRequest.objects.get()
    assert send_opt_in_email(request.pk) is True
    assert send_opt_in_email(request.pk) is False
    assert len([m for m in mail.outbox if "g@example.com" in m.to]) == 1
    url = optin.confirm_url(request)
    assert url in mail.outbox[-1].body
    path = url.removeprefix(settings.SITE_URL)
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200  # twice is fine
    assert Subscription.objects.get(list=weekly).status == "subscribed"
    assert client.get(path[:-3] + "xx/").status_code == 400
    with mock.patch("time.time", return_value=0):
        expired = signing.dumps({"o": request.pk}, salt=optin._SALT)
    assert client.get(f"/f/confirm/{expired}/").status_code == 400


def test_publish_contract_and_plain_html_post(client, form, settings):
    assert publish.hosted_url(form) == f"{settings.SITE_URL}/f/{form.public_key}/"
    assert f"{settings.SITE_URL}/f/{form.public_key}/embed.js" in publish.embed_snippet(form)
    snippet = publish.html_snippet(form)
    assert f'action="{settings.SITE_URL}/f/{form.public_key}/submit/"' in snippet
    assert 'name="lc_hp"' in snippet and "&lt;b&gt;Get it&lt;/b&gt;" in snippet
    token = snippet.split('name="lc_token" value="')[1].split('"')[0]
    answer = submit(client, form, {"email": "h@example.com", "lc_token": token}, origin=None, accept="text/html")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/html")
    errors = submit(client, form, {"email": "nope", "lc_token": token}, origin=None, accept="text/html")
    assert errors.status_code == 400 and b"valid email" in errors.content
