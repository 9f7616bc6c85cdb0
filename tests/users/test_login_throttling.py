"""Brute-force protection (django-axes): repeated failures lock a username+IP pair out."""

import pytest
from django.conf import settings
from django.urls import reverse

LOGIN = "users:login"



def log_in(client, username, password, ip="10.0.0.1"):
    return client.post(reverse(LOGIN), {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_the_limit_is_five_failures_per_username_and_ip():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


@pytest.mark.django_db
def test_after_five_failures_the_next_attempt_gets_the_lockout_page(client, personas):
    for attempt in range(1, 5):
        response = log_in(client, "rep_alice", "wrong password")
        assert response.status_code == 200, attempt
        assert b"Please enter a correct username and password" in response.content
    # The fifth failure reaches the limit: axes answers it with the lockout page already.
    assert log_in(client, "rep_alice", "wrong password").status_code == 429

    response = log_in(client, "rep_alice", "wrong password")  # the sixth

    assert response.status_code == 429
    assert "users/locked_out.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert 'name="password"' not in html
    assert "Too many failed log-ins" in html
    assert "try again in 15 minutes" in html
    assert reverse("users:password_reset") in html


@pytest.mark.django_db
def test_a_locked_out_user_is_refused_even_with_the_right_password(client, personas):
    for _ in range(6):
        log_in(client, "rep_alice", "wrong password")

    response = log_in(client, "rep_alice", personas.password)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302


@pytest.mark.django_db
def test_the_lockout_is_per_username_and_ip(client, personas):
    for _ in range(6):
        log_in(client, "rep_alice", "wrong password")

    # Another user from the same IP, and the same user from another IP, may still log in.
    assert log_in(client, "rep_bob", personas.password).status_code == 302
    client.logout()
    assert log_in(client, "rep_alice", personas.password, ip="10.0.0.2").status_code == 302


@pytest.mark.django_db
def test_a_successful_login_resets_the_failure_count(client, personas):
    for _ in range(4):
        log_in(client, "rep_alice", "wrong password")
    assert log_in(client, "rep_alice", personas.password).status_code == 302
    client.logout()

    for _ in range(4):
        assert log_in(client, "rep_alice", "wrong password").status_code == 200
