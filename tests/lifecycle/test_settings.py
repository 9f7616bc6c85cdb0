"""Settings from the environment: the typed readers, EMAIL_URL, and `check --deploy`."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from lifecycle.env import env_bool, env_int, env_list, env_str
from lifecycle.settings import _email_from_url

BASE_DIR = Path(__file__).resolve().parents[2]
SMTP = "django.core.mail.backends.smtp.EmailBackend"

# Variables that change the security settings; a developer's shell must not leak them into the check.
SECURITY_VARIABLES = {
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL", "CSRF_TRUSTED_ORIGINS", "BEHIND_PROXY",
    "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by tests/conftest.py for Playwright; check --deploy rejects it
}
PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "crm.example.com",
    "SITE_URL": "https://crm.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
}


# --- lifecycle.env -----------------------------------------------------------------------

@pytest.mark.parametrize("value", ["1", "true", "True", "YES", "on", " on "])
def test_env_bool_reads_common_spellings_of_true(monkeypatch, value):
    monkeypatch.setenv("FLAG", value)
    assert env_bool("FLAG") is True


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "anything-else"])
def test_env_bool_treats_everything_else_as_false_even_with_a_true_default(monkeypatch, value):
    monkeypatch.setenv("FLAG", value)
    assert env_bool("FLAG", True) is False


def test_env_bool_falls_back_to_the_default_when_unset_or_empty(monkeypatch):
    monkeypatch.delenv("FLAG", raising=False)
    assert env_bool("FLAG") is False
    assert env_bool("FLAG", True) is True
    monkeypatch.setenv("FLAG", "")
    assert env_bool("FLAG", True) is True


def test_env_int_parses_and_falls_back_when_unset_or_empty(monkeypatch):
    monkeypatch.setenv("NUMBER", "42")
    assert env_int("NUMBER", 7) == 42
    monkeypatch.setenv("NUMBER", "")
    assert env_int("NUMBER", 7) == 7
    monkeypatch.delenv("NUMBER")
    assert env_int("NUMBER", 7) == 7


def test_env_int_refuses_a_value_that_is_not_a_number(monkeypatch):
    monkeypatch.setenv("NUMBER", "ten")
    with pytest.raises(ValueError):
        env_int("NUMBER", 7)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("HOSTS", " crm.example.com, ,api.example.com ,")
    assert env_list("HOSTS") == ["crm.example.com", "api.example.com"]


def test_env_list_returns_a_copy_of_the_default_when_unset_or_blank(monkeypatch):
    default = ["localhost"]
    monkeypatch.delenv("HOSTS", raising=False)
    hosts = env_list("HOSTS", default)
    hosts.append("evil.example.com")
    assert default == ["localhost"]
    monkeypatch.setenv("HOSTS", "  ")
    assert env_list("HOSTS", default) == ["localhost"]
    assert env_list("HOSTS") == []


def test_env_str_keeps_an_empty_value_that_was_set(monkeypatch):
    monkeypatch.setenv("NAME", "")
    assert env_str("NAME", "default") == ""
    monkeypatch.delenv("NAME")
    assert env_str("NAME", "default") == "default"


# --- EMAIL_URL -----------------------------------------------------------------------------

def test_smtp_url_gives_host_port_and_decoded_credentials():
    config = _email_from_url("smtp://mailer:p%40ss%2Fword@mail.example.com:2525")
    assert config == {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 2525,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "p@ss/word",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10,
    }


def test_smtp_without_a_port_uses_25():
    assert _email_from_url("smtp://mail.example.com")["EMAIL_PORT"] == 25


def test_smtp_tls_turns_on_starttls():
    config = _email_from_url("smtp+tls://user:secret@smtp.example.com:587?timeout=30")
    assert config["EMAIL_BACKEND"] == SMTP
    assert (config["EMAIL_USE_TLS"], config["EMAIL_USE_SSL"]) == (True, False)
    assert config["EMAIL_PORT"] == 587
    assert config["EMAIL_TIMEOUT"] == 30


def test_smtps_turns_on_implicit_tls_on_port_465():
    config = _email_from_url("smtps://user:secret@smtp.example.com")
    assert config["EMAIL_BACKEND"] == SMTP
    assert (config["EMAIL_USE_TLS"], config["EMAIL_USE_SSL"]) == (False, True)
    assert config["EMAIL_PORT"] == 465


def test_console_url_prints_mail_instead_of_sending_it():
    config = _email_from_url("console://")
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert config["EMAIL_HOST_USER"] == "" and config["EMAIL_HOST_PASSWORD"] == ""


@pytest.mark.parametrize("url", ["ftp://mail.example.com", "mail.example.com:25", "smtp-tls://x"])
def test_an_unknown_scheme_is_a_configuration_error(url):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL scheme must be one of"):
        _email_from_url(url)


# --- manage.py check --deploy ----------------------------------------------------------------

def _deploy_check(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in SECURITY_VARIABLES} | env
    # DATABASE_URL and REDIS_URL stay as they are: the check runs against the current services.
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=environ, capture_output=True, text=True, timeout=120,
    )


def test_the_deploy_check_passes_with_production_values():
    result = _deploy_check(**PRODUCTION, SECRET_KEY=secrets.token_urlsafe(64))

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_fails_with_the_development_secret_key():
    result = _deploy_check(**PRODUCTION)

    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_the_deploy_check_fails_when_https_is_not_configured():
    result = _deploy_check(**PRODUCTION | {"SITE_URL": "http://crm.example.com"},
                           SECRET_KEY=secrets.token_urlsafe(64))

    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr
