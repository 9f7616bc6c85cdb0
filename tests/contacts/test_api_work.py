"""/api/v1/notes/ and /api/v1/tasks/."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Event, Note, Task
from tests.api_base import CreateTests, ListTests, RestrictedReadTests, RetrieveTests, assert_error, bearer_client
from tests.contacts.api_factories import ContactFactory, NoteFactory, TaskFactory
from users.models import ApiKey

NOTES = "contacts-api:note-list"
TASKS = "contacts-api:task-list"


def note_url(note) -> str:
    return reverse("contacts-api:note-detail", kwargs={"pk": note.pk})


def task_url(task) -> str:
    return reverse("contacts-api:task-detail", kwargs={"pk": task.pk})


# --- notes -----------------------------------------------------------------------------------------

@pytest.mark.django_db
class TestNotesApi(ListTests, RetrieveTests, CreateTests, RestrictedReadTests):
    list_url_name = NOTES
    detail_url_name = "contacts-api:note-detail"
    factory = NoteFactory
    invalid_payloads = [({"body": "No contact"}, "contact"), ({"contact": 999999, "body": "x"}, "contact")]
    readers = ("admin", "manager", "marketer", "rep_alice")
    non_readers = ("outsider",)
    writers = ("admin", "manager", "marketer", "rep_alice")
    non_writers = ("outsider",)

    @pytest.fixture(autouse=True)
    def _payload(self, db):
        self.create_payload = {"contact": ContactFactory().pk, "body": "Called; wants a demo."}

    def assert_matches(self, obj, payload):
        assert (obj.contact_id, obj.body) == (payload["contact"], payload["body"])


pytestmark = pytest.mark.django_db


def test_a_note_is_by_the_caller_and_shows_on_the_timeline(personas):
    contact = ContactFactory()

    response = bearer_client(personas.rep_alice).post(reverse(NOTES), {"contact": contact.pk, "body": " Hi "},
                                                      format="json")

    assert response.status_code == 201, response.content
    assert response.json()["author"] == {"id": personas.rep_alice.pk, "username": "rep_alice"}
    assert response.json()["body"] == "Hi"
    assert Event.objects.filter(contact=contact, type="note_added").exists()


def test_notes_filter_by_contact_and_follow_the_contacts_owner(personas):
    mine = ContactFactory(owner=personas.rep_alice)
    note = NoteFactory(contact=mine)
    NoteFactory(contact=ContactFactory())
    hidden = NoteFactory(contact=ContactFactory(owner=personas.rep_bob))
    client = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ)

    assert [row["id"] for row in client.get(reverse(NOTES), {"contact": mine.pk}).json()["results"]] == [note.pk]
    assert hidden.pk not in {row["id"] for row in client.get(reverse(NOTES)).json()["results"]}
    assert_error(client.get(note_url(hidden)), 404)


def test_a_note_on_someone_elses_contact_cannot_be_added(personas):
    theirs = ContactFactory(owner=personas.rep_bob)

    response = bearer_client(personas.rep_alice).post(reverse(NOTES), {"contact": theirs.pk, "body": "x"},
                                                      format="json")

    assert_error(response, 400, "invalid", fields=("contact",))
    assert not Note.objects.exists()


def test_a_user_deletes_their_own_note_and_only_an_admin_deletes_others(personas):
    contact = ContactFactory()
    alices = NoteFactory(contact=contact, author=personas.rep_alice)
    marketers = NoteFactory(contact=contact, author=personas.marketer)

    assert_error(bearer_client(personas.rep_alice).delete(note_url(marketers)), 403, "permission_denied")
    assert_error(bearer_client(personas.manager).delete(note_url(alices)), 403, "permission_denied")
    assert bearer_client(personas.rep_alice).delete(note_url(alices)).status_code == 204
    assert bearer_client(personas.admin).delete(note_url(marketers)).status_code == 204
    assert not Note.objects.exists()


def test_notes_cannot_be_edited(personas):
    note = NoteFactory(author=personas.admin)

    assert_error(bearer_client(personas.admin).patch(note_url(note), {"body": "x"}, format="json"), 405)


def test_the_note_list_costs_the_same_queries_for_2_or_12_notes(personas):
    client = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ)
    client.get(reverse(NOTES))
    NoteFactory.create_batch(2, author=personas.admin)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse(NOTES))
    NoteFactory.create_batch(10, author=personas.manager)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(reverse(NOTES)).json()["results"]) == 12
    assert len(many) == len(few)


# --- tasks ------------------------------------------------------------------------------------------

@pytest.mark.django_db
class TestTasksApi(ListTests, RetrieveTests, CreateTests, RestrictedReadTests):
    list_url_name = TASKS
    detail_url_name = "contacts-api:task-detail"
    factory = TaskFactory
    invalid_payloads = [({"title": "No link", "due_at": "2030-01-01T09:00:00Z"}, "contact"),
                        ({"title": "Bad time", "due_at": "soon", "contact": None}, "due_at"),
                        ({"title": "", "due_at": "2030-01-01T09:00:00Z"}, "title"),
                        ({"title": "Bad kind", "kind": "fax", "due_at": "2030-01-01T09:00:00Z"}, "kind")]
    readers = ("admin", "manager", "marketer", "rep_alice")
    non_readers = ("outsider",)
    writers = ("admin", "manager", "marketer", "rep_alice")
    non_writers = ("outsider",)

    @pytest.fixture(autouse=True)
    def _payload(self, db):
        self.create_payload = {"title": "Call Ada", "kind": "call", "due_at": "2030-01-01T09:00:00Z",
                               "contact": ContactFactory().pk}

    def assert_matches(self, obj, payload):
        assert (obj.title, obj.kind, obj.contact_id) == (payload["title"], payload["kind"], payload["contact"])


def test_a_new_task_is_the_callers_unless_assigned_and_records_on_the_timeline(personas):
    contact = ContactFactory()
    client = bearer_client(personas.manager)

    own = client.post(reverse(TASKS), {"title": "Demo", "due_at": "2030-01-01T09:00:00Z", "contact": contact.pk},
                      format="json").json()
    assigned = client.post(reverse(TASKS), {"title": "Follow up", "due_at": "2030-01-02T09:00:00Z",
                                            "contact": contact.pk, "assignee": personas.rep_alice.pk},
                           format="json").json()

    assert own["assignee"]["username"] == "manager" and own["created_by"]["username"] == "manager"
    assert assigned["assignee"]["username"] == "rep_alice"
    assert Event.objects.filter(contact=contact, type="task_created").count() == 2


def test_a_task_is_deleted_by_its_creator_or_assignee_or_a_manager_and_no_one_else(personas):
    contact = ContactFactory()
    alices = TaskFactory(contact=contact, assignee=personas.rep_alice, created_by=personas.manager)
    unassigned = TaskFactory(contact=contact, created_by=personas.marketer)

    assert_error(bearer_client(personas.rep_alice).delete(task_url(unassigned)), 403, "permission_denied")
    assert_error(bearer_client(personas.outsider).delete(task_url(alices)), 403)
    assert bearer_client(personas.rep_alice).delete(task_url(alices)).status_code == 204
    assert Task.objects.filter(pk=unassigned.pk).exists()
    assert bearer_client(personas.manager).delete(task_url(unassigned)).status_code == 204
    assert not Task.objects.exists()


def test_marking_a_task_done_completes_it_and_reopening_clears_the_time(personas):
    task = TaskFactory(assignee=personas.rep_alice)
    client = bearer_client(personas.rep_alice)

    done = client.patch(task_url(task), {"done": True, "title": "Called"}, format="json")
    assert done.status_code == 200, done.content
    assert (done.json()["done"], done.json()["title"]) == (True, "Called")
    assert done.json()["done_at"]
    assert Event.objects.filter(contact=task.contact, type="task_done").count() == 1

    reopened = client.patch(task_url(task), {"done": False}, format="json").json()
    assert (reopened["done"], reopened["done_at"]) == (False, None)


def test_a_bad_change_to_a_task_changes_nothing(personas):
    task = TaskFactory(assignee=personas.admin)

    response = bearer_client(personas.admin).patch(task_url(task), {"done": True, "contact": None}, format="json")

    assert_error(response, 400, "invalid", fields=("contact",))
    task.refresh_from_db()
    assert not task.done and task.contact_id is not None


def test_tasks_filter_by_assignee_done_overdue_contact(personas):
    now = timezone.now()
    contact = ContactFactory()
    late = TaskFactory(assignee=personas.rep_alice, due_at=now - timedelta(hours=1), contact=contact)
    later = TaskFactory(assignee=personas.rep_alice, due_at=now + timedelta(days=1))
    finished = TaskFactory(assignee=personas.admin, due_at=now - timedelta(days=2), done=True, done_at=now)
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)

    def ids(**params):
        response = client.get(reverse(TASKS), params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [finished.pk, late.pk, later.pk]
    assert ids(assignee=personas.rep_alice.pk) == [late.pk, later.pk]
    assert ids(assignee="me") == [finished.pk]
    assert ids(overdue="true") == [late.pk]
    assert ids(overdue="false") == [finished.pk, later.pk]
    assert ids(done="true") == [finished.pk]
    assert ids(contact=contact.pk) == [late.pk]
    assert client.get(task_url(late)).json()["overdue"] is True
    assert_error(client.get(reverse(TASKS), {"assignee": "boss"}), 400, "invalid", fields=("assignee",))


def test_a_rep_sees_their_own_and_unassigned_tasks_only(personas):
    mine = TaskFactory(assignee=personas.rep_alice)
    unassigned = TaskFactory()
    theirs = TaskFactory(assignee=personas.rep_bob)
    client = bearer_client(personas.rep_alice)

    assert {row["id"] for row in client.get(reverse(TASKS)).json()["results"]} == {mine.pk, unassigned.pk}
    assert_error(client.patch(task_url(theirs), {"done": True}, format="json"), 404)
    theirs.refresh_from_db()
    assert not theirs.done


def test_the_task_list_costs_the_same_queries_for_2_or_12_tasks(personas):
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)
    client.get(reverse(TASKS))
    TaskFactory.create_batch(2, assignee=personas.rep_alice, created_by=personas.admin)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse(TASKS))
    TaskFactory.create_batch(10, assignee=personas.rep_bob, created_by=personas.manager)
    total = Task.objects.count()
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(reverse(TASKS)).json()["results"]) == total
    assert len(many) == len(few)
