import pytest
from django.contrib.auth.models import Group, Permission

from pipelines.models import Deal
from pipelines.services import pipeline_create
from users.permissions import visible_to
from users.roles import ROLE_PERMISSIONS, Role, sync_role_groups

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(personas):
    pipeline = pipeline_create(name="P")
    stage = pipeline.stages.first()

    def deal(title, owner):
        return Deal.objects.create(title=title, pipeline=pipeline, stage=stage, owner=owner)

    return {
        "alice": deal("alice's", personas.rep_alice),
        "bob": deal("bob's", personas.rep_bob),
        "manager": deal("manager's", personas.manager),
        "marketer": deal("marketer's", personas.marketer),
        "unassigned": deal("unassigned", None),
    }


def titles(user):
    return {d.title for d in visible_to(Deal.objects.all(), user)}


def test_admins_and_marketers_see_every_deal(personas, deals):
    assert titles(personas.admin) == {d.title for d in deals.values()}
    assert titles(personas.marketer) == {d.title for d in deals.values()}


def test_a_rep_sees_their_own_and_unassigned_deals_only(personas, deals):
    assert titles(personas.rep_alice) == {"alice's", "unassigned"}
    assert titles(personas.rep_bob) == {"bob's", "unassigned"}


def test_reps_see_all_deals_when_the_setting_is_on(personas, deals, settings):
    settings.REPS_SEE_ALL_DEALS = True
    assert titles(personas.rep_bob) == {d.title for d in deals.values()}


def test_a_manager_sees_their_teams_deals_their_own_and_unassigned(personas, deals):
    # alice is in the manager's team; bob is not.
    assert titles(personas.manager) == {"alice's", "manager's", "unassigned"}


def test_a_user_without_a_role_sees_nothing(personas, deals):
    assert titles(personas.outsider) == set()


def test_each_role_is_a_group_with_exactly_its_permissions(db):
    sync_role_groups()
    sync_role_groups()  # idempotent

    assert set(Group.objects.values_list("name", flat=True)) >= {r.label for r in Role}
    rep = Group.objects.get(name=Role.SALES_REP.label)
    assert rep.permissions.filter(codename="change_deal").exists()
    assert not rep.permissions.filter(codename="delete_deal").exists()
    assert not rep.permissions.filter(content_type__app_label="users").exists()
    admin_perms = Group.objects.get(name=Role.ADMIN.label).permissions.count()
    assert admin_perms == Permission.objects.filter(content_type__app_label__in=ROLE_PERMISSIONS[Role.ADMIN]).count()


def test_the_role_of_a_user_in_two_groups_is_the_more_powerful_one(personas):
    personas.rep_alice.groups.add(Group.objects.get(name=Role.MANAGER.label))
    assert personas.rep_alice.role is Role.MANAGER
