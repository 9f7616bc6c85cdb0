"""Django messages become toasts: rendered into full pages, sent in HX-Trigger to htmx requests."""

import json

import pytest
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_htmx.middleware import HtmxMiddleware

from lifecycle.middleware import HtmxMessagesMiddleware


def toasts_in(html: str) -> str:
    """The server-rendered toasts: the toast container's content."""
    return html.split('id="toasts">', 1)[1].split("</div>\n<template", 1)[0]


def stack(view):
    """The view behind the same middleware, in the same order, as in settings.MIDDLEWARE."""
    return SessionMiddleware(MessageMiddleware(HtmxMiddleware(HtmxMessagesMiddleware(view))))


def saving_view(response=None):
    def view(request):
        messages.success(request, "Saved <b>Ada</b>.")
        messages.error(request, "Could not email Bob.")
        return response or HttpResponse("<tr><td>Ada</td></tr>")

    return view


@pytest.mark.django_db
def test_an_htmx_request_gets_its_pending_messages_in_the_hx_trigger_header(rf):
    response = stack(saving_view())(rf.post("/contacts/1/", HTTP_HX_REQUEST="true"))

    assert json.loads(response["HX-Trigger"]) == {
        "messages": [
            {"level": "success", "message": "Saved <b>Ada</b>."},
            {"level": "error", "message": "Could not email Bob."},
        ]
    }


@pytest.mark.django_db
def test_the_messages_join_an_hx_trigger_the_view_already_set(rf):
    fragment = HttpResponse("<tr></tr>", headers={"HX-Trigger": json.dumps({"contactSaved": {"id": 1}})})

    response = stack(saving_view(fragment))(rf.post("/contacts/1/", HTTP_HX_REQUEST="true"))

    trigger = json.loads(response["HX-Trigger"])
    assert trigger["contactSaved"] == {"id": 1}
    assert [m["message"] for m in trigger["messages"]] == ["Saved <b>Ada</b>.", "Could not email Bob."]


@pytest.mark.django_db
def test_a_plain_request_leaves_messages_for_the_page_to_render(rf):
    response = stack(saving_view())(rf.post("/contacts/1/"))

    assert "HX-Trigger" not in response


@pytest.mark.django_db
def test_a_redirected_htmx_request_keeps_its_messages_for_the_next_page(rf):
    response = stack(saving_view(HttpResponseRedirect("/contacts/")))(rf.post("/contacts/1/", HTTP_HX_REQUEST="true"))

    assert "HX-Trigger" not in response


@pytest.mark.django_db
def test_a_message_from_the_last_request_reaches_the_next_htmx_request_once(client, personas):
    client.post(reverse("users:login"), {"username": "rep_alice", "password": personas.password})

    response = client.get(reverse("dashboard"), HTTP_HX_REQUEST="true")

    assert json.loads(response["HX-Trigger"])["messages"] == [{"level": "success", "message": "Welcome back, Alice."}]
    assert "Welcome back" not in toasts_in(client.get(reverse("dashboard")).content.decode())


@pytest.mark.django_db
def test_a_full_page_renders_pending_messages_as_toasts(client, personas):
    response = client.post(
        reverse("users:login"), {"username": "rep_alice", "password": personas.password}, follow=True
    )

    html = response.content.decode()
    assert response.redirect_chain == [(reverse("dashboard"), 302)]
    toasts = toasts_in(html)
    assert 'class="toast toast-success" data-level="success" role="status"' in toasts
    assert "Welcome back, Alice." in toasts
    assert "HX-Trigger" not in response


@pytest.mark.django_db
def test_message_text_is_escaped_in_the_page(client, personas):
    personas.rep_alice.first_name = "<img src=x>"
    personas.rep_alice.save()

    response = client.post(
        reverse("users:login"), {"username": "rep_alice", "password": personas.password}, follow=True
    )

    assert b"Welcome back, &lt;img src=x&gt;." in response.content
    assert b"<img src=x>" not in response.content


@pytest.mark.django_db
def test_every_page_carries_the_toast_template_for_htmx_messages(client):
    html = client.get(reverse("users:login")).content.decode()

    assert '<template id="toast-template"><div class="toast" role="status"' in html
    assert "data-toast-body" in html
