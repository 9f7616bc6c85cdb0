"""Admins shape the lifecycle: add, rename, reorder and delete stages, and switch the active set.

The services first, then Settings → Lifecycle stages (/settings/lifecycle-stages/), with and without htmx.
"""

import json
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from contacts.models import Contact
from lifecycle.models import LifecycleStage, StageSet, StageTransition
from lifecycle.services import (
    contact_stage_set,
    stage_create,
    stage_delete,
    stage_reorder,
    stage_set_activate,
    stage_update,
)

pytestmark = pytest.mark.django_db

NON_ADMINS = ["manager", "marketer", "rep_alice", "outsider"]
HTMX = {"HX-Request": "true"}


@pytest.fixture
def lifecycle():
    return StageSet.objects.get(is_active=True)


@pytest.fixture
def kotler():
    return StageSet.objects.get(name="Kotler's 5 A's")


def names(stage_set) -> list[str]:
    return list(stage_set.stages.order_by("position").values_list("name", flat=True))


def positions(stage_set) -> list[int]:
    return list(stage_set.stages.order_by("position").values_list("position", flat=True))


def stage(stage_set, name) -> LifecycleStage:
    return stage_set.stages.get(name=name)


# --- Services ----------------------------------------------------------------------------------

def test_a_new_stage_goes_last_by_default(personas, lifecycle):
    created = stage_create(stage_set=lifecycle, name="  Advocate  ", description="Tells friends", by=personas.admin)

    assert (created.name, created.position) == ("Advocate", 4)
    assert names(lifecycle)[-1] == "Advocate"


def test_a_new_stage_at_a_position_moves_the_later_ones_down(personas, lifecycle):
    stage_create(stage_set=lifecycle, name="Qualify", position=2, by=personas.admin)

    assert names(lifecycle) == ["Reach & Engage", "Nurture & Educate", "Qualify", "Convert & Close", "Support & Grow"]
    assert positions(lifecycle) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name", ["", "   "])
def test_a_stage_needs_a_name(personas, lifecycle, name):
    with pytest.raises(ValidationError) as error:
        stage_create(stage_set=lifecycle, name=name, by=personas.admin)

    assert "name" in error.value.message_dict
    assert lifecycle.stages.count() == 4


def test_two_stages_of_a_set_cannot_share_a_name_in_any_case(personas, lifecycle, kotler):
    with pytest.raises(ValidationError) as error:
        stage_create(stage_set=lifecycle, name="reach & engage", by=personas.admin)

    assert error.value.message_dict["name"] == [
        "There is already a stage called “reach & engage” in Customer lifecycle."]
    # Another set may use the name.
    assert stage_create(stage_set=kotler, name="Reach & Engage", by=personas.admin).stage_set == kotler


def test_renaming_and_describing_a_stage(personas, lifecycle):
    reach = stage(lifecycle, "Reach & Engage")

    stage_update(stage=reach, name="Reach", description="First touch", by=personas.admin)

    reach.refresh_from_db()
    assert (reach.name, reach.description, reach.position) == ("Reach", "First touch", 0)


def test_renaming_to_another_stages_name_is_refused_and_changes_nothing(personas, lifecycle):
    reach = stage(lifecycle, "Reach & Engage")

    with pytest.raises(ValidationError) as error:
        stage_update(stage=reach, name="Convert & Close", by=personas.admin)

    assert "name" in error.value.message_dict
    assert names(lifecycle)[0] == "Reach & Engage"


def test_a_stage_may_keep_its_own_name_with_another_description(personas, lifecycle):
    reach = stage(lifecycle, "Reach & Engage")
    stage_update(stage=reach, name="Reach & Engage", description="New words", by=personas.admin)

    assert stage(lifecycle, "Reach & Engage").description == "New words"


def test_moving_a_stage_to_a_position_shifts_the_others(personas, lifecycle):
    moved = stage_update(stage=stage(lifecycle, "Support & Grow"), position=0, by=personas.admin)

    assert moved.position == 0
    assert names(lifecycle) == ["Support & Grow", "Reach & Engage", "Nurture & Educate", "Convert & Close"]
    assert positions(lifecycle) == [0, 1, 2, 3]


def test_reorder_permutes_the_stages_in_one_transaction(personas, lifecycle):
    ids = list(lifecycle.stages.order_by("position").values_list("id", flat=True))

    stage_reorder(stage_set=lifecycle, stage_ids=list(reversed(ids)), by=personas.admin)

    assert names(lifecycle) == ["Support & Grow", "Convert & Close", "Nurture & Educate", "Reach & Engage"]
    assert positions(lifecycle) == [0, 1, 2, 3]


@pytest.mark.parametrize("change", ["missing", "repeated", "foreign", "junk"])
def test_reorder_must_list_each_stage_of_the_set_once(personas, lifecycle, kotler, change):
    ids = list(lifecycle.stages.order_by("position").values_list("id", flat=True))
    wanted = {
        "missing": ids[:-1],
        "repeated": [*ids[:-1], ids[0]],
        "foreign": [*ids[:-1], kotler.stages.first().pk],
        "junk": [*ids[:-1], "x"],
    }[change]

    with pytest.raises(ValidationError) as error:
        stage_reorder(stage_set=lifecycle, stage_ids=wanted, by=personas.admin)

    assert "stages" in error.value.message_dict
    assert names(lifecycle)[0] == "Reach & Engage"


def test_reordering_keeps_the_direction_recorded_for_past_moves(personas, lifecycle):
    contact = Contact.objects.create(email="past@example.com")
    contact_stage_set(contact=contact, stage=stage(lifecycle, "Reach & Engage"), actor="api")
    forward = contact_stage_set(contact=contact, stage=stage(lifecycle, "Convert & Close"), actor="api")
    ids = list(lifecycle.stages.order_by("position").values_list("id", flat=True))

    stage_reorder(stage_set=lifecycle, stage_ids=list(reversed(ids)), by=personas.admin)
    back_to_reach = contact_stage_set(contact=contact, stage=stage(lifecycle, "Reach & Engage"), actor="api")

    forward.refresh_from_db()
    assert forward.direction == "forward"
    assert back_to_reach.direction == "forward"  # Reach & Engage now comes after Convert & Close


def test_deleting_an_unused_stage_closes_the_gap(personas, lifecycle):
    stage_delete(stage=stage(lifecycle, "Nurture & Educate"), by=personas.admin)

    assert names(lifecycle) == ["Reach & Engage", "Convert & Close", "Support & Grow"]
    assert positions(lifecycle) == [0, 1, 2]


def test_a_stage_with_contacts_in_it_cannot_be_deleted(personas, lifecycle):
    reach = stage(lifecycle, "Reach & Engage")
    for i in range(2):
        contact_stage_set(contact=Contact.objects.create(email=f"in{i}@example.com"), stage=reach, actor="api")

    with pytest.raises(ValidationError) as error:
        stage_delete(stage=reach, by=personas.admin)

    assert error.value.messages == [
        "“Reach & Engage” cannot be deleted: 2 contacts are in it and 2 recorded moves refer to it. "
        "Stages that are part of a contact's history are kept; rename it instead."]
    assert LifecycleStage.objects.filter(pk=reach.pk).exists()


def test_a_stage_only_in_past_moves_cannot_be_deleted_either(personas, lifecycle):
    contact = Contact.objects.create(email="moved-on@example.com")
    contact_stage_set(contact=contact, stage=stage(lifecycle, "Reach & Engage"), actor="api")
    contact_stage_set(contact=contact, stage=stage(lifecycle, "Support & Grow"), actor="api")

    with pytest.raises(ValidationError, match="2 recorded moves refer to it"):
        stage_delete(stage=stage(lifecycle, "Reach & Engage"), by=personas.admin)


def test_the_active_set_keeps_at_least_one_stage(personas, kotler):
    for name in ["Awareness", "Appeal", "Ask", "Act"]:
        stage_delete(stage=stage(kotler, name), by=personas.admin)
    stage_set_activate(stage_set=kotler, by=personas.admin)

    with pytest.raises(ValidationError, match="only stage of the active set"):
        stage_delete(stage=stage(kotler, "Advocacy"), by=personas.admin)


def test_switching_sets_keeps_contacts_where_they_are_and_their_next_move_is_an_entry(personas, lifecycle, kotler):
    contact = Contact.objects.create(email="switch@example.com")
    contact_stage_set(contact=contact, stage=stage(lifecycle, "Convert & Close"), actor="api")

    activated = stage_set_activate(stage_set=kotler, by=personas.admin)

    assert activated.is_active
    assert list(StageSet.objects.filter(is_active=True)) == [kotler]
    contact.refresh_from_db()
    assert contact.lifecycle_stage == stage(lifecycle, "Convert & Close")
    move = contact_stage_set(contact=contact, stage=stage(kotler, "Ask"), actor="api")
    assert move.direction == "entry"


def test_activating_the_active_set_changes_nothing(personas, lifecycle):
    assert stage_set_activate(stage_set=lifecycle, by=personas.admin).is_active
    assert list(StageSet.objects.filter(is_active=True)) == [lifecycle]


def test_a_set_without_stages_cannot_become_active(personas, lifecycle):
    empty = StageSet.objects.create(name="Empty")

    with pytest.raises(ValidationError, match="has no stages yet"):
        stage_set_activate(stage_set=empty, by=personas.admin)
    assert StageSet.objects.get(is_active=True) == lifecycle


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_the_stage_services_refuse_non_admins(personas, lifecycle, kotler, persona):
    user = getattr(personas, persona)
    reach = stage(lifecycle, "Reach & Engage")
    calls = [
        lambda: stage_create(stage_set=lifecycle, name="New", by=user),
        lambda: stage_update(stage=reach, name="Renamed", by=user),
        lambda: stage_reorder(stage_set=lifecycle, stage_ids=[], by=user),
        lambda: stage_delete(stage=reach, by=user),
        lambda: stage_set_activate(stage_set=kotler, by=user),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert names(lifecycle)[0] == "Reach & Engage" and StageSet.objects.get(is_active=True) == lifecycle


# --- The settings page -------------------------------------------------------------------------

@pytest.fixture
def admin_client(client, personas):
    client.force_login(personas.admin)
    return client


def test_the_page_lists_every_set_with_the_active_one_first_and_its_stages_in_order(admin_client, lifecycle):
    Contact.objects.create(email="a@example.com", lifecycle_stage=stage(lifecycle, "Nurture & Educate"))

    response = admin_client.get(reverse("lifecycle:stage_settings"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Lifecycle stages · Lifecycle</title>" in html
    headings = re.findall(r'<h2 class="h5 mb-0 me-auto" id="stage-set-\d+-name">([^<]+)</h2>', html)
    assert headings == ["Customer lifecycle", "Journey in 4 steps", "Kotler&#x27;s 5 A&#x27;s"]
    assert html.count('data-testid="active-badge"') == 1
    assert re.findall(r'data-testid="stage-name">([^<]+)<', html)[:4] == [
        "Reach &amp; Engage", "Nurture &amp; Educate", "Convert &amp; Close", "Support &amp; Grow"]
    assert "1 contact<" in html
    assert 'aria-current="page" href="/settings/"' not in html  # the nav marks Settings, checked elsewhere
    assert html.count("Make active") == 2


def test_the_page_runs_a_fixed_number_of_queries(admin_client, personas, lifecycle, django_assert_max_num_queries):
    for i in range(5):
        stage_create(stage_set=lifecycle, name=f"Extra {i}", by=personas.admin)
    Contact.objects.bulk_create(
        Contact(email=f"c{i}@example.com", lifecycle_stage=stage(lifecycle, "Reach & Engage")) for i in range(20))

    with django_assert_max_num_queries(8):
        assert admin_client.get(reverse("lifecycle:stage_settings")).status_code == 200


def test_the_settings_nav_entry_is_highlighted(admin_client):
    html = admin_client.get(reverse("lifecycle:stage_settings")).content.decode()

    assert re.search(r'class="nav-link active" href="/settings/" aria-current="page"', html)


def test_anonymous_visitors_are_sent_to_log_in(client):
    url = reverse("lifecycle:stage_settings")
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('users:login')}?next={url}"


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_non_admins_get_a_403_page_with_nothing_to_edit(client, personas, persona):
    client.force_login(getattr(personas, persona))

    response = client.get(reverse("lifecycle:stage_settings"))

    assert response.status_code == 403
    html = response.content.decode()
    assert "Only admins can change lifecycle stages" in html
    assert "Reach &amp; Engage" not in html
    forms = re.findall(r"<form[^>]*>", html)
    assert forms == [f'<form method="post" action="{reverse("users:logout")}" class="ms-2">']


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_non_admins_cannot_change_anything_by_posting(client, personas, persona, lifecycle, kotler):
    client.force_login(getattr(personas, persona))
    reach = stage(lifecycle, "Reach & Engage")
    requests = [
        ("lifecycle:stage_add", lifecycle.pk, {f"set{lifecycle.pk}-name": "New"}),
        ("lifecycle:stage_edit", reach.pk, {f"stage{reach.pk}-name": "Renamed"}),
        ("lifecycle:stage_move", reach.pk, {"position": "3"}),
        ("lifecycle:stage_delete", stage(lifecycle, "Support & Grow").pk, {}),
        ("lifecycle:stage_set_activate", kotler.pk, {}),
    ]
    for name, pk, data in requests:
        assert client.post(reverse(name, args=[pk]), data).status_code == 403, name
        assert client.post(reverse(name, args=[pk]), data, headers=HTMX).status_code == 403, name

    assert names(lifecycle) == ["Reach & Engage", "Nurture & Educate", "Convert & Close", "Support & Grow"]
    assert StageSet.objects.get(is_active=True) == lifecycle


def test_edit_inline_swaps_the_row_for_a_form_and_back(admin_client, lifecycle):
    reach = stage(lifecycle, "Reach & Engage")
    url = reverse("lifecycle:stage_edit", args=[reach.pk])

    form = admin_client.get(url, headers=HTMX)
    assert form.status_code == 200
    html = form.content.decode()
    assert html.lstrip().startswith(f'<li class="list-group-item stage-row stage-row-editing" id="stage-{reach.pk}"')
    assert f'name="stage{reach.pk}-name"' in html and 'value="Reach &amp; Engage"' in html
    assert "<html" not in html

    saved = admin_client.post(url, {f"stage{reach.pk}-name": "Reach", f"stage{reach.pk}-description": "Hello"},
                              headers=HTMX)

    assert saved.status_code == 200
    assert 'data-testid="stage-name">Reach<' in saved.content.decode()
    assert "autofocus" in saved.content.decode()  # the keyboard lands back on the Edit button
    trigger = json.loads(saved["HX-Trigger"])
    assert trigger["messages"][0]["message"] == "Saved “Reach”."
    reach.refresh_from_db()
    assert (reach.name, reach.description) == ("Reach", "Hello")

    cancel = admin_client.get(reverse("lifecycle:stage_row", args=[reach.pk]), headers=HTMX)
    assert cancel.status_code == 200 and 'data-testid="stage-name">Reach<' in cancel.content.decode()


@pytest.mark.parametrize(("name", "message"), [
    ("", "Give the stage a name."),
    ("Convert & Close", "There is already a stage called “Convert &amp; Close” in Customer lifecycle."),
    ("x" * 101, "Ensure this value has at most 100 characters (it has 101)."),
])
def test_an_inline_edit_with_a_bad_name_comes_back_as_422_with_the_message(admin_client, lifecycle, name, message):
    reach = stage(lifecycle, "Reach & Engage")

    response = admin_client.post(reverse("lifecycle:stage_edit", args=[reach.pk]),
                                 {f"stage{reach.pk}-name": name}, headers=HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert 'aria-invalid="true"' in html and "is-invalid" in html
    reach.refresh_from_db()
    assert reach.name == "Reach & Engage"


def test_without_htmx_editing_is_a_page_and_saving_redirects(admin_client, lifecycle):
    reach = stage(lifecycle, "Reach & Engage")
    url = reverse("lifecycle:stage_edit", args=[reach.pk])

    page = admin_client.get(url)
    assert page.status_code == 200 and "<h1>Edit “Reach &amp; Engage”</h1>" in page.content.decode()
    bad = admin_client.post(url, {f"stage{reach.pk}-name": ""})
    assert bad.status_code == 400 and "Give the stage a name." in bad.content.decode()
    good = admin_client.post(url, {f"stage{reach.pk}-name": "Reach"})
    assert good.status_code == 302
    assert good["Location"] == reverse("lifecycle:stage_settings") + f"#stage-{reach.pk}"


def test_adding_a_stage_with_htmx_returns_the_sets_card_with_it(admin_client, lifecycle):
    response = admin_client.post(reverse("lifecycle:stage_add", args=[lifecycle.pk]),
                                 {f"set{lifecycle.pk}-name": "Advocate", f"set{lifecycle.pk}-description": "Fans"},
                                 headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<section class="card mb-4 stage-set" id="stage-set-{lifecycle.pk}"')
    assert re.findall(r'data-testid="stage-name">([^<]+)<', html)[-1] == "Advocate"
    assert names(lifecycle)[-1] == "Advocate"


def test_adding_a_duplicate_stage_is_a_422_with_the_message_by_the_name(admin_client, lifecycle):
    response = admin_client.post(reverse("lifecycle:stage_add", args=[lifecycle.pk]),
                                 {f"set{lifecycle.pk}-name": "Support & Grow"}, headers=HTMX)

    assert response.status_code == 422
    assert "There is already a stage called “Support &amp; Grow”" in response.content.decode()
    assert lifecycle.stages.count() == 4


def test_adding_a_blank_stage_without_htmx_shows_the_page_with_the_error(admin_client, lifecycle):
    response = admin_client.post(reverse("lifecycle:stage_add", args=[lifecycle.pk]), {f"set{lifecycle.pk}-name": ""})

    assert response.status_code == 400
    assert "Give the stage a name." in response.content.decode()
    assert lifecycle.stages.count() == 4


def test_the_arrows_move_a_stage_and_keep_focus_on_the_pressed_button(admin_client, lifecycle):
    nurture = stage(lifecycle, "Nurture & Educate")

    response = admin_client.post(reverse("lifecycle:stage_move", args=[nurture.pk]), {"position": "0"},
                                 headers=HTMX)

    assert response.status_code == 200
    assert names(lifecycle)[:2] == ["Nurture & Educate", "Reach & Engage"]
    html = response.content.decode()
    # Now first, so it has no "up" any more: the keyboard goes to its "down" button.
    focused = re.findall(r'aria-label="([^"]+)"[^>]*autofocus', html)
    assert focused == ["Move Nurture &amp; Educate down"]
    assert re.search(r'aria-label="Move Nurture &amp; Educate up"[^>]*disabled', html)


def test_a_move_without_a_position_changes_nothing(admin_client, lifecycle):
    reach = stage(lifecycle, "Reach & Engage")

    response = admin_client.post(reverse("lifecycle:stage_move", args=[reach.pk]), {"position": "x"})

    assert response.status_code == 302
    assert names(lifecycle)[0] == "Reach & Engage"


def test_deleting_asks_first_and_then_deletes(admin_client, lifecycle):
    nurture = stage(lifecycle, "Nurture & Educate")
    url = reverse("lifecycle:stage_delete", args=[nurture.pk])

    confirm = admin_client.get(url)
    assert confirm.status_code == 200 and "Delete stage</button>" in confirm.content.decode()
    assert LifecycleStage.objects.filter(pk=nurture.pk).exists()

    response = admin_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("lifecycle:stage_settings") + f"#stage-set-{lifecycle.pk}"
    assert "Deleted “Nurture &amp; Educate” from Customer lifecycle." in response.content.decode()
    assert not LifecycleStage.objects.filter(pk=nurture.pk).exists()


def test_a_used_stage_offers_no_delete_button_and_a_forced_post_gets_a_clear_400(admin_client, lifecycle):
    reach = stage(lifecycle, "Reach & Engage")
    contact_stage_set(contact=Contact.objects.create(email="x@example.com"), stage=reach, actor="api")
    url = reverse("lifecycle:stage_delete", args=[reach.pk])

    confirm = admin_client.get(url).content.decode()
    assert "Delete stage</button>" not in confirm
    assert "1 contact is in it and 1 recorded move refers to it" in confirm

    response = admin_client.post(url)
    assert response.status_code == 400
    assert "“Reach &amp; Engage” cannot be deleted: 1 contact is in it" in response.content.decode()
    assert StageTransition.objects.filter(to_stage=reach).exists() and LifecycleStage.objects.filter(pk=reach.pk)


def test_switching_the_active_set_asks_first(admin_client, lifecycle, kotler):
    url = reverse("lifecycle:stage_set_activate", args=[kotler.pk])

    confirm = admin_client.get(url).content.decode()
    assert "recorded as an <strong>entry</strong>" in confirm
    assert "Awareness</strong> → <strong>Appeal" in confirm
    assert StageSet.objects.get(is_active=True) == lifecycle

    response = admin_client.post(url)
    assert response.status_code == 302
    assert StageSet.objects.get(is_active=True) == kotler


def test_an_empty_set_cannot_be_switched_to_and_the_page_says_why(admin_client, lifecycle):
    empty = StageSet.objects.create(name="Empty")

    response = admin_client.post(reverse("lifecycle:stage_set_activate", args=[empty.pk]))

    assert response.status_code == 400
    assert "“Empty” has no stages yet; add one before making it active." in response.content.decode()
    assert StageSet.objects.get(is_active=True) == lifecycle
