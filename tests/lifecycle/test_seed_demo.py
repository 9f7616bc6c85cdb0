import pytest
from django.core.management import call_command

from contacts.models import Account, Contact, Event
from lifecycle.models import StageTransition
from pipelines.models import Deal, Pipeline
from users.models import User
from users.roles import Role

pytestmark = pytest.mark.django_db


def test_it_creates_users_for_every_role_contacts_with_tags_and_events_and_deals():
    call_command("seed_demo", contacts=120)

    roles = {user.role for user in User.objects.all()}
    assert roles == set(Role)
    assert User.objects.get(username="admin").check_password("lifecycle-demo")
    assert Contact.objects.count() == 120
    assert Contact.objects.filter(tags__isnull=False).distinct().count() > 30
    assert Account.objects.filter(parent__isnull=False).exists(), "accounts form a hierarchy"
    assert Event.objects.values("contact").distinct().count() == 120, "every contact has a timeline"
    pipeline = Pipeline.objects.get(name="Sales")
    assert [s.name for s in pipeline.stages.all()] == [
        "Contact", "Qualification", "Meeting", "Proposal", "Closing", "Retention"]
    assert Deal.objects.count() == 80  # two for every three contacts, up to 200 (tests/pipelines/test_demo.py)
    assert {d.status for d in Deal.objects.all()} == {"open", "won", "lost"}
    # Every contact is somewhere in the lifecycle, and some journeys went backward.
    assert not Contact.objects.filter(lifecycle_stage__isnull=True).exists()
    assert StageTransition.objects.filter(direction="backward").exists()
    stages_in_use = set(Contact.objects.values_list("lifecycle_stage__name", flat=True))
    assert len(stages_in_use) == 4, stages_in_use
    # Backdated rows agree with their timelines.
    contact = Contact.objects.filter(events__isnull=False).first()
    assert contact.last_activity_at == contact.events.order_by("-occurred_at").first().occurred_at


def test_running_it_twice_changes_nothing(capsys):
    call_command("seed_demo", contacts=50)
    counts = (User.objects.count(), Contact.objects.count(), Event.objects.count(), Deal.objects.count())

    call_command("seed_demo", contacts=50)

    assert (User.objects.count(), Contact.objects.count(), Event.objects.count(), Deal.objects.count()) == counts
    assert "Log in as 'admin' with password 'lifecycle-demo'" in capsys.readouterr().out
