"""The main navigation: every area opens for every persona, and the right entry is highlighted."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from lifecycle.navigation import NAV

PERSONAS = ["admin", "manager", "marketer", "rep_alice", "outsider"]



class NavLinks(HTMLParser):
    """Collects the links of the main <nav> and which one is marked as the current page."""

    def __init__(self):
        super().__init__()
        self.in_nav = False
        self.navs = 0
        self.links: list[str] = []
        self.active: list[str] = []
        self.labels: dict[str, str] = {}
        self._href = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and attrs.get("aria-label") == "Main":
            self.in_nav = True
            self.navs += 1
        elif tag == "a" and self.in_nav:
            self._href = attrs["href"]
            self.links.append(self._href)
            self.labels[self._href] = ""
            if attrs.get("aria-current") == "page":
                assert "active" in attrs.get("class", "").split()
                self.active.append(self._href)

    def handle_endtag(self, tag):
        if tag == "nav":
            self.in_nav = False
        elif tag == "a":
            self._href = None

    def handle_data(self, data):
        if self._href:
            self.labels[self._href] += data


def parse_nav(html: str) -> NavLinks:
    parser = NavLinks()
    parser.feed(html)
    return parser


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("entry", NAV, ids=[e.label for e in NAV])
def test_every_nav_entry_opens_for_every_persona_with_itself_highlighted(client, personas, persona, entry):
    client.force_login(getattr(personas, persona))
    url = reverse(entry.url_name)

    response = client.get(url)

    # Contacts and deals are personal data: someone without a role is refused, inside the same shell.
    refused = persona == "outsider" and entry.section in ("contacts", "deals")
    assert response.status_code == (403 if refused else 200)
    nav = parse_nav(response.content.decode())
    assert nav.navs == 1
    assert nav.links == [reverse(e.url_name) for e in NAV]
    assert nav.active == [url]
    assert entry.label in nav.labels[url]
    assert f"<title>{entry.label} · Lifecycle</title>" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("entry", NAV, ids=[e.label for e in NAV])
def test_anonymous_visitors_are_sent_to_the_login_page(client, entry):
    url = reverse(entry.url_name)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('users:login')}?next={url}"


@pytest.mark.django_db
def test_the_top_bar_shows_the_users_name_role_and_a_logout_form(client, personas):
    client.force_login(personas.manager)

    html = client.get(reverse("dashboard")).content.decode()

    assert 'data-testid="user-name">Manager</div>' in html
    assert 'data-testid="user-role">Manager</div>' in html
    assert f'<form method="post" action="{reverse("users:logout")}"' in html


@pytest.mark.django_db
def test_a_user_without_a_role_is_told_so_in_the_top_bar(client, personas):
    client.force_login(personas.outsider)

    html = client.get(reverse("dashboard")).content.decode()

    assert 'data-testid="user-role">No role</div>' in html


@pytest.mark.django_db
def test_pages_outside_the_nav_highlight_no_entry(client, personas):
    client.force_login(personas.admin)

    response = client.get(reverse("users:password_reset"))

    assert response.status_code == 200
    assert parse_nav(response.content.decode()).active == []


@pytest.mark.django_db
def test_the_login_page_has_no_app_shell(client):
    response = client.get(reverse("users:login"))

    assert response.status_code == 200
    html = response.content.decode()
    assert parse_nav(html).navs == 0
    assert "autofocus" in html
    assert reverse("users:password_reset") in html
