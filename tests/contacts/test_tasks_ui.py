"""My tasks (/contacts/tasks/), ticking tasks off, and the dashboard's overdue tasks."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Event, Task
from contacts.page_selectors import overdue_tasks
from contacts.services import contact_create, task_create
from lifecycle.selectors import dashboard_summary

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def book(personas):
    """Alice's tasks (two overdue, one due later, one done), and Bob's on his own contact."""
    now = timezone.now()
    alice, bob = personas.rep_alice, personas.rep_bob
    ada = contact_create(email="ada@example.com", first_name="Ada", owner_id=alice.pk)
    carl = contact_create(email="carl@example.com", first_name="Carl", owner_id=bob.pk)
    tasks = {
        "late": task_create(title="Call Ada back", kind="call", due_at=now - timedelta(days=1), contact=ada,
                            assignee=alice),
        "later": task_create(title="Send the proposal", kind="email", due_at=now + timedelta(days=3), contact=ada,
                             assignee=alice),
        "oldest": task_create(title="Book the demo", kind="meeting", due_at=now - timedelta(days=5), contact=ada,
                              assignee=alice),
        "done": task_create(title="Intro email", due_at=now - timedelta(days=9), contact=ada, assignee=alice),
        "bobs": task_create(title="Bob's follow-up", due_at=now - timedelta(days=2), contact=carl, assignee=bob),
    }
    Task.objects.filter(pk=tasks["done"].pk).update(done=True, done_at=now)
    return tasks


def test_my_tasks_lists_my_open_tasks_overdue_first(client, personas, book):
    client.force_login(personas.rep_alice)

    response = client.get(reverse("contacts:tasks"))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Book the demo") < html.index("Call Ada back") < html.index("Send the proposal")
    assert "Intro email" not in html and "Bob's follow-up" not in html
    assert html.count('data-testid="overdue"') == 2
    assert html.count('type="checkbox" name="done"') == 3
    assert f'href="{reverse("contacts:detail", args=[book["late"].contact_id])}">Ada</a>' in html


def test_with_no_open_tasks_the_page_says_what_to_do(client, personas):
    client.force_login(personas.outsider)

    html = client.get(reverse("contacts:tasks")).content.decode()

    assert "No open tasks." in html and "Add a task from a contact's page" in html


def test_my_tasks_pages_through_many_tasks(client, personas, django_assert_max_num_queries):
    contact = contact_create(email="many@example.com")
    Task.objects.bulk_create([Task(title=f"task {i:02}", contact=contact, assignee=personas.rep_alice,
                                   due_at=timezone.now() + timedelta(hours=i)) for i in range(60)])
    client.force_login(personas.rep_alice)

    with django_assert_max_num_queries(10):
        first = client.get(reverse("contacts:tasks")).content.decode()
    second = client.get(reverse("contacts:tasks") + "?page=2").content.decode()

    assert first.count('data-testid="task"') == 50 and "Page 1 of 2" in first
    assert second.count('data-testid="task"') == 10 and "task 59" in second


def test_ticking_a_task_marks_it_done_and_unticking_opens_it_again(client, personas, book):
    client.force_login(personas.rep_alice)
    task = book["late"]

    done = client.post(reverse("contacts:task_done", args=[task.pk]), {"done": "on"}, headers=HTMX)

    assert done.status_code == 200
    html = done.content.decode()
    assert "<html" not in html and 'class="task-row is-done"' in html and "checked" in html
    task.refresh_from_db()
    assert task.done and task.done_at is not None
    assert Event.objects.filter(contact_id=task.contact_id, type="task_done").count() == 1

    reopened = client.post(reverse("contacts:task_done", args=[task.pk]), {}, headers=HTMX)

    assert reopened.status_code == 200 and "is-overdue" in reopened.content.decode()
    task.refresh_from_db()
    assert not task.done and task.done_at is None


def test_without_javascript_ticking_returns_to_where_you_were(client, personas, book):
    client.force_login(personas.rep_alice)
    task = book["later"]

    back = client.post(reverse("contacts:task_done", args=[task.pk]), {"done": "on", "next": "/contacts/tasks/"})
    elsewhere = client.post(reverse("contacts:task_done", args=[task.pk]),
                            {"done": "on", "next": "https://evil.example.com/"})

    assert back.status_code == 302 and back["Location"] == "/contacts/tasks/"
    assert elsewhere["Location"] == reverse("contacts:tasks")


def test_nobody_ticks_off_a_task_they_cannot_see(client, personas, book):
    client.force_login(personas.rep_alice)
    assert client.post(reverse("contacts:task_done", args=[book["bobs"].pk]), {"done": "on"}).status_code == 404

    client.force_login(personas.outsider)
    assert client.post(reverse("contacts:task_done", args=[book["late"].pk]), {"done": "on"}).status_code == 404

    client.force_login(personas.manager)  # a manager sees Alice's (team) contact
    assert client.post(reverse("contacts:task_done", args=[book["late"].pk]), {"done": "on"},
                       headers=HTMX).status_code == 200
    assert not Task.objects.get(pk=book["bobs"].pk).done


def test_ticking_needs_a_post(client, personas, book):
    client.force_login(personas.rep_alice)

    assert client.get(reverse("contacts:task_done", args=[book["late"].pk])).status_code == 405


# --- The dashboard ---------------------------------------------------------------------------------

def test_overdue_tasks_count_only_my_open_tasks_past_due(personas, book):
    mine = overdue_tasks(personas.rep_alice)

    assert mine.count == 2
    assert [t.title for t in mine.top] == ["Book the demo", "Call Ada back"]
    assert overdue_tasks(personas.rep_bob).count == 1
    assert overdue_tasks(personas.marketer) == overdue_tasks(personas.outsider)
    assert overdue_tasks(personas.marketer).count == 0


def test_the_dashboard_summary_carries_the_overdue_tasks(personas, book):
    summary = dashboard_summary(personas.rep_alice)

    assert summary.overdue_tasks.count == 2


def test_the_dashboard_shows_the_count_and_the_five_most_overdue(client, personas, book):
    contact = contact_create(email="more@example.com")
    for i in range(6):
        task_create(title=f"Old task {i}", due_at=timezone.now() - timedelta(days=30 - i), contact=contact,
                    assignee=personas.rep_alice)
    client.force_login(personas.rep_alice)

    html = client.get(reverse("dashboard")).content.decode()

    assert 'data-testid="overdue-count">8<' in html
    section = html.split('data-testid="overdue-tasks"', 1)[1].split("</section>", 1)[0]
    assert [f"Old task {i}" in section for i in range(6)] == [True] * 5 + [False]
    assert "Call Ada back" not in section  # the sixth most overdue
    assert f'href="{reverse("contacts:detail", args=[contact.pk])}#tasks"' in section
    assert "See all 8 overdue tasks" in section


def test_nothing_overdue_says_so(client, personas):
    client.force_login(personas.marketer)

    html = client.get(reverse("dashboard")).content.decode()

    assert 'data-testid="overdue-count">0<' in html and "Nothing overdue." in html
