"""The stage path widget: contact_stage_path() and templates/lifecycle/_stage_path.html, rendered as a page would."""

import re
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from lifecycle.models import StageSet
from lifecycle.selectors import contact_stage_path
from lifecycle.services import contact_stage_set, stage_set_activate

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
T0 = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def stages():
    return {s.name: s for s in StageSet.objects.get(is_active=True).stages.all()}


@pytest.fixture
def squiggle(personas, stages):
    """Entered at Reach, jumped to Convert by a rule, sent back to Nurture by a marketer."""
    contact = Contact.objects.create(email="squiggle@example.com")
    contact_stage_set(contact=contact, stage=stages["Reach & Engage"], actor="form", occurred_at=T0)
    contact_stage_set(contact=contact, stage=stages["Convert & Close"], actor="rule", reason="score passed 50",
                      occurred_at=T0 + timedelta(days=3))
    contact_stage_set(contact=contact, stage=stages["Nurture & Educate"], actor="user", user=personas.marketer,
                      reason="not ready yet", occurred_at=T0 + timedelta(days=9))
    return contact


def render(contact) -> str:
    return render_to_string("lifecycle/_stage_path.html", {"path": contact_stage_path(contact)})


def steps(html: str) -> list[tuple[str, str]]:
    """(name, classes) of each step of the bar, in order."""
    return [(unescape(name), classes.strip()) for classes, name in re.findall(
        r'<li class="stage-path-step([^"]*)"[^>]*>\s*<span class="stage-path-name">([^<]+)</span>', html)]


def test_the_selector_gives_the_steps_with_visited_and_current_and_the_moves_newest_first(squiggle, personas):
    path = contact_stage_path(squiggle)

    assert [(s.stage.name, s.visited, s.current) for s in path.steps] == [
        ("Reach & Engage", True, False),
        ("Nurture & Educate", True, True),
        ("Convert & Close", True, False),
        ("Support & Grow", False, False),
    ]
    assert [(m.from_stage and m.from_stage.name, m.to_stage.name, m.direction, m.actor) for m in path.moves] == [
        ("Convert & Close", "Nurture & Educate", "backward", "user"),
        ("Reach & Engage", "Convert & Close", "forward", "rule"),
        (None, "Reach & Engage", "entry", "form"),
    ]
    newest = path.moves[0]
    assert (newest.user, newest.reason, newest.when) == (personas.marketer, "not ready yet", T0 + timedelta(days=9))
    assert path.current.name == "Nurture & Educate" and path.since == T0 + timedelta(days=9)
    assert (path.move_count, path.earlier_move_count, path.current_in_other_set) == (3, 0, False)


def test_the_widget_renders_the_bar_and_marks_the_backward_move(squiggle):
    html = render(squiggle)

    assert steps(html) == [
        ("Reach & Engage", "is-visited"),
        ("Nurture & Educate", "is-visited is-current"),
        ("Convert & Close", "is-visited"),
        ("Support & Grow", ""),
    ]
    assert html.count('aria-current="step"') == 1
    moves = re.findall(r'<li class="stage-move stage-move-(\w+)"', html)
    assert moves == ["backward", "forward", "entry"]
    assert "↩ backward" in html and "→ forward" in html and "+ entered" in html
    assert "Convert &amp; Close → <strong>Nurture &amp; Educate</strong>" in html
    assert "Marketer" in html and "“not ready yet”" in html and "“score passed 50”" in html
    assert ">Rule<" not in html and "Rule" in html  # a move without a user names its actor
    assert "<script" not in html and "style=" not in html  # nothing the CSP would block


def test_a_contact_without_a_stage_gets_an_empty_path_that_says_so(stages):
    html = render(Contact.objects.create(email="new@example.com"))

    assert [classes for _, classes in steps(html)] == ["", "", "", ""]
    assert "Not in a lifecycle stage yet." in html
    assert "No stage changes recorded yet." in html


def test_after_a_switch_the_path_shows_the_new_set_and_where_the_contact_still_is(squiggle, personas):
    stage_set_activate(stage_set=StageSet.objects.get(name="Kotler's 5 A's"), by=personas.admin)

    path = contact_stage_path(squiggle)
    html = render(squiggle)

    assert path.current_in_other_set
    assert [name for name, _ in steps(html)] == ["Awareness", "Appeal", "Ask", "Act", "Advocacy"]
    assert "is-current" not in html
    assert "a stage of Customer lifecycle (not the active set)" in html


def test_only_the_newest_moves_are_listed_and_the_rest_are_counted(squiggle, stages):
    for i in range(4):
        contact_stage_set(contact=squiggle, stage=stages["Support & Grow" if i % 2 == 0 else "Reach & Engage"],
                          actor="api", occurred_at=T0 + timedelta(days=20 + i))

    path = contact_stage_path(squiggle, limit=3)

    assert len(path.moves) == 3 and path.move_count == 7 and path.earlier_move_count == 4
    assert all(step.visited for step in path.steps)  # visits beyond the listed moves still count
    assert "and 4 earlier changes." in render_to_string("lifecycle/_stage_path.html", {"path": path})


def test_the_path_costs_at_most_three_queries_and_the_template_none(squiggle, stages):
    for i in range(30):
        contact_stage_set(contact=squiggle, stage=list(stages.values())[i % 4], actor="api",
                          occurred_at=T0 + timedelta(days=30 + i))
    squiggle.refresh_from_db()

    with CaptureQueriesContext(connection) as selecting:
        path = contact_stage_path(squiggle)
    with CaptureQueriesContext(connection) as rendering:
        render_to_string("lifecycle/_stage_path.html", {"path": path})

    assert len(selecting) <= 3
    assert len(rendering) == 0
