"""The Content-Security-Policy holds: no inline code or styles, and every asset is served by us."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from lifecycle.navigation import NAV

ASSET_TAGS = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src", "video": "src",
              "audio": "src", "embed": "src", "object": "data"}



class CspAudit(HTMLParser):
    """Finds what a strict CSP would block, or what would load from another origin."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.scripts = 0
        self._script = None  # attributes of the <script> being read, if any
        self._script_body = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag}> has an inline event handler {name}=")
            if name == "style":
                self.problems.append(f"<{tag}> has an inline style=")
        url = attrs.get(ASSET_TAGS.get(tag, ""), "") or ""
        if url.startswith(("http://", "https://", "//")):
            self.problems.append(f"<{tag}> loads an asset from another origin: {url}")
        if tag == "script":
            self.scripts += 1
            self._script, self._script_body = attrs, ""
        if tag == "style":
            self.problems.append("<style> element")

    def handle_data(self, data):
        if self._script is not None:
            self._script_body += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            # A JSON data island (json_script) is data, not code: the CSP does not apply to it.
            if self._script_body.strip() and self._script.get("type") != "application/json":
                self.problems.append(f"inline <script> with a body: {self._script_body.strip()[:60]!r}")
            self._script = None


def audit(html: str) -> CspAudit:
    parser = CspAudit()
    parser.feed(html)
    parser.close()
    return parser


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_strict_csp(response):
    policy = directives(response)
    for directive in ("script-src", "style-src"):
        assert policy[directive] == ["'self'"], policy
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]


def assert_clean(response):
    assert response.status_code in (200, 429), response.status_code
    assert_strict_csp(response)
    html = response.content.decode()
    report = audit(html)
    assert report.problems == []
    assert report.scripts >= 3  # htmx, Bootstrap, app.js: the auditor really saw the page's scripts


def test_the_audit_catches_what_the_csp_would_block():
    html = """<div style="color:red" onclick="go()"></div><script>alert(1)</script>
              <script src="https://cdn.example.com/x.js"></script><link href="//cdn.example.com/x.css">
              <script type="application/json" id="d">{"a": 1}</script><style>p{}</style>"""
    assert len(audit(html).problems) == 6


@pytest.mark.django_db
def test_the_login_page_obeys_the_csp(client):
    assert_clean(client.get(reverse("users:login")))


@pytest.mark.django_db
def test_the_login_page_with_errors_obeys_the_csp(client, personas):
    response = client.post(reverse("users:login"), {"username": "admin", "password": "wrong"})
    assert b"Please enter a correct username and password" in response.content
    assert_clean(response)


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["users:password_reset", "users:password_reset_done",
                                      "users:password_reset_complete"])
def test_the_password_reset_pages_obey_the_csp(client, url_name):
    assert_clean(client.get(reverse(url_name)))


@pytest.mark.django_db
def test_an_invalid_password_reset_link_page_obeys_the_csp(client):
    response = client.get(reverse("users:password_reset_confirm", args=["MQ", "set-password"]))
    assert b"This link has expired" in response.content
    assert_clean(response)


@pytest.mark.django_db
def test_the_lockout_page_obeys_the_csp(client, personas):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("users:login"), {"username": "admin", "password": "wrong"})
    assert response.status_code == 429
    assert_clean(response)


@pytest.mark.django_db
def test_the_dashboard_with_its_chart_obeys_the_csp(client, personas):
    client.force_login(personas.admin)
    response = client.get(reverse("dashboard"))
    html = response.content.decode()
    assert 'id="deals-per-month-data" type="application/json"' in html
    assert "chart.umd.min.js" in html
    assert_clean(response)


@pytest.mark.django_db
@pytest.mark.parametrize("entry", NAV, ids=[e.label for e in NAV])
def test_every_area_in_the_base_layout_obeys_the_csp(client, personas, entry):
    client.force_login(personas.rep_alice)
    assert_clean(client.get(reverse(entry.url_name)))


@pytest.mark.django_db
def test_a_page_with_a_message_toast_obeys_the_csp(client, personas):
    response = client.post(reverse("users:login"), {"username": "admin", "password": personas.password}, follow=True)
    assert b"Welcome back" in response.content
    assert_clean(response)


def test_our_own_css_and_javascript_load_nothing_from_other_origins():
    static = Path(settings.BASE_DIR, "static")
    files = [*static.glob("css/*.css"), *static.glob("js/*.js")]
    assert files
    for path in files:
        text = path.read_text()
        assert "http://" not in text and "https://" not in text, path
        assert "eval(" not in text and "new Function" not in text, path
