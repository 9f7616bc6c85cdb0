"""The data generator at a tiny scale, in the test database (each test's transaction is rolled back)."""

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Count, F

from bench.database import bench_database_url
from bench.generate import GENERATOR_VERSION, current_dataset, generate, parse_scale
from contacts.models import Account, Contact, Event, Tag
from pipelines.models import Deal, DealStageHistory, Pipeline, Stage
from users.models import User

pytestmark = pytest.mark.django_db

ANCHOR = datetime(2025, 6, 1, tzinfo=UTC)


def quiet(_message: str) -> None:
    pass


def tiny(seed: int = 7, **kwargs):
    return generate(scale="tiny", seed=seed, anchor=ANCHOR, log=quiet, **kwargs)


def snapshot() -> dict:
    """What must be identical for the same seed: every email, each contact's event count, every event row."""
    events = hashlib.sha256()
    for row in Event.objects.order_by("id").values_list("contact_id", "type", "channel", "occurred_at", "properties"):
        events.update(repr(row).encode())
    return {
        "emails": list(Contact.objects.order_by("id").values_list("email", flat=True)),
        "events_per_contact": dict(Event.objects.values_list("contact").annotate(n=Count("id")).order_by()),
        "events": events.hexdigest(),
        "deals": list(Deal.objects.order_by("id").values_list("contact_id", "stage_id", "status", "value")),
    }


def schema(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s UNION ALL "
                       "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass", [table, table])
        return {row[0] for row in cursor.fetchall()}


def test_it_generates_about_five_percent_accounts_ten_events_a_contact_and_three_percent_deals():
    dataset = tiny()

    assert Contact.objects.count() == 200
    assert Account.objects.count() == 10
    assert Deal.objects.count() == 6
    assert 7 <= Event.objects.count() / 200 <= 13
    assert Pipeline.objects.count() == 2 and Stage.objects.count() == 12
    assert User.objects.filter(username__startswith="rep-").count() >= 4
    assert Tag.objects.count() == 25
    assert dataset.counts["contacts"] == 200 and dataset.counts["events"] == Event.objects.count()
    assert not dataset.reused


def test_every_row_points_at_rows_that_exist_and_make_sense():
    tiny()

    assert not Event.objects.exclude(contact_id__in=Contact.objects.values("id")).exists()
    assert not Event.objects.filter(occurred_at__lt=F("contact__created_at")).exists()
    assert not Event.objects.filter(occurred_at__gte=ANCHOR).exists()
    assert not Event.objects.filter(occurred_at__lt=ANCHOR - timedelta(days=365)).exists()
    assert not Deal.objects.exclude(stage__pipeline=F("pipeline")).exists()
    assert not Deal.objects.exclude(contact_id__in=Contact.objects.values("id")).exists()
    with_parent = Account.objects.filter(parent__isnull=False)
    assert not with_parent.exclude(parent_id__in=Account.objects.values("id")).exists()
    assert not Contact.objects.exclude(owner__isnull=True).exclude(owner_id__in=User.objects.values("id")).exists()
    emails = list(Contact.objects.values_list("email", flat=True))
    assert len(set(emails)) == len(emails) and all(e == e.lower() and "@" in e for e in emails)


def test_the_indexes_and_constraints_are_all_back_after_the_load():
    tables = ["contacts_contact", "contacts_event", "contacts_contact_tags", "contacts_account", "pipelines_deal",
              "pipelines_dealstagehistory"]
    before = {table: schema(table) for table in tables}

    tiny()

    after = {table: schema(table) for table in tables}
    # The generator adds the custom fields' range indexes, as the app does when they are defined.
    added = after["contacts_contact"] - before["contacts_contact"]
    assert added <= {"contact_cf_headcount", "contact_cf_annual_revenue"}
    assert {table: names - added for table, names in after.items()} == before
    assert "event_contact_time" in before["contacts_event"]


def test_a_larger_set_has_the_realistic_shape_a_hierarchy_skewed_tags_and_every_kind_of_event():
    generate(scale=2000, seed=3, anchor=ANCHOR, log=quiet)

    assert Account.objects.filter(parent__parent__isnull=False).exists()  # three levels
    tag_sizes = sorted(Tag.objects.annotate(n=Count("contacts")).values_list("n", flat=True), reverse=True)
    assert tag_sizes[0] > 10 * tag_sizes[len(tag_sizes) // 2]  # a few big tags, many small
    types = set(Event.objects.values_list("type", flat=True).distinct())
    assert {"page_visited", "email_opened", "email_clicked", "form_submitted", "contact_created"} <= types
    assert len(types) >= 8  # custom events too
    assert set(Event.objects.filter(type="page_visited").values_list("channel", flat=True)) == {"website"}
    assert Event.objects.filter(type="page_visited").values("properties__url").distinct().count() > 100
    per_contact = sorted(Event.objects.values("contact").annotate(n=Count("id")).values_list("n", flat=True))
    assert per_contact[-1] > 5 * per_contact[len(per_contact) // 2]  # a long tail
    assert set(Deal.objects.values_list("status", flat=True)) == {"open", "won", "lost"}
    assert Deal.objects.filter(pipeline__name="Sales").count() > Deal.objects.filter(pipeline__name="Partnerships")\
        .count()


def test_the_same_seed_gives_the_same_data_and_another_seed_different_data():
    tiny(seed=7)
    first = snapshot()
    tiny(seed=8)
    other = snapshot()
    tiny(seed=7)
    again = snapshot()

    assert again == first
    assert other["emails"] != first["emails"]
    assert other["events"] != first["events"]


def test_a_second_run_reuses_the_data_set_without_duplicating_anything():
    first = tiny()
    second = tiny()

    assert second.reused
    assert second.generated_at == first.generated_at
    assert Contact.objects.count() == 200
    assert Event.objects.count() == first.counts["events"]
    assert current_dataset().seed == 7


def test_a_data_set_that_was_changed_behind_its_back_is_generated_again():
    first = tiny()
    Contact.objects.filter(pk=1).delete()

    second = tiny()

    assert not second.reused
    assert Contact.objects.count() == 200 and Event.objects.count() == first.counts["events"]


def test_force_generates_again_even_when_the_data_set_exists():
    tiny()
    assert not tiny(force=True).reused


@pytest.mark.parametrize(("value", "expected"), [
    ("tiny", ("tiny", 200)), ("10k", ("10k", 10_000)), ("1M", ("1m", 1_000_000)), ("250k", ("250000", 250_000)),
    (5000, ("5000", 5000)),
])
def test_a_scale_is_a_name_or_a_number_of_contacts(value, expected):
    assert parse_scale(value) == expected


@pytest.mark.parametrize("value", ["huge", "10", "-5", "1.5m"])
def test_a_bad_scale_is_refused(value):
    with pytest.raises(ValueError):
        parse_scale(value)


def test_each_scale_has_a_database_of_its_own_next_to_the_configured_one():
    assert bench_database_url("postgres://postgres@127.0.0.1:5432/lifecycle", "10k") == \
        "postgres://postgres@127.0.0.1:5432/lifecycle_bench_10k"
    assert bench_database_url("postgres://postgres@%2Fvar%2Frun/lifecycle?sslmode=disable", "1m") == \
        "postgres://postgres@%2Fvar%2Frun/lifecycle_bench_1m?sslmode=disable"


def test_contacts_carry_valid_custom_field_values_lifecycle_journeys_and_list_subscriptions():
    from contacts.fields import clean_field_values, custom_fields_by_key
    from contacts.models import Subscription
    from lifecycle.models import StageTransition

    generate(scale=2000, seed=5, anchor=ANCHOR, log=quiet)

    definitions = custom_fields_by_key()
    assert set(definitions) == {"industry", "headcount", "region", "annual_revenue"}
    for values in Contact.objects.values_list("fields", flat=True)[:500]:
        cleaned, errors = clean_field_values(values, definitions)
        assert not errors and cleaned == values
    # Every contact's stage is where its last transition took it, and some moved backward.
    last = {}
    for contact_id, stage_id in StageTransition.objects.order_by("occurred_at", "id").values_list(
            "contact_id", "to_stage_id"):
        last[contact_id] = stage_id
    staged = dict(Contact.objects.filter(lifecycle_stage__isnull=False).values_list("id", "lifecycle_stage_id"))
    assert staged == last and len(staged) > 1500
    directions = Counter(StageTransition.objects.values_list("direction", flat=True))
    assert directions["entry"] == len(staged) and directions["forward"] > directions["backward"] > 0
    assert not StageTransition.objects.filter(occurred_at__lt=F("contact__created_at")).exists()
    statuses = Counter(Subscription.objects.values_list("status", flat=True))
    assert statuses["subscribed"] > statuses["unsubscribed"] > 0 and statuses["bounced"] > 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'contacts_contact'")
        indexes = {row[0] for row in cursor.fetchall()}
    assert {"contact_cf_headcount", "contact_cf_annual_revenue", "contact_search_trgm"} <= indexes


def deal_history() -> dict:
    """Every stay, and what the deals say about them."""
    return {
        "stays": list(DealStageHistory.objects.order_by("id").values_list(
            "id", "deal_id", "stage_id", "entered_at", "exited_at", "moved_by_id")),
        "deals": list(Deal.objects.order_by("id").values_list(
            "id", "stage_id", "status", "position", "stage_entered_at", "last_activity_at")),
    }


def test_each_deal_has_a_stage_history_that_ends_where_the_deal_is():
    dataset = generate(scale=4000, seed=11, anchor=ANCHOR, log=quiet)

    stays: dict[int, list[DealStageHistory]] = {}
    for stay in DealStageHistory.objects.select_related("stage").order_by("entered_at", "id"):
        stays.setdefault(stay.deal_id, []).append(stay)
    backward = reopened = 0
    deals = list(Deal.objects.all())
    assert len(deals) == 120 and dataset.counts["deal_stage_history"] == DealStageHistory.objects.count()
    for deal in deals:
        history = stays[deal.pk]
        assert history[0].entered_at == deal.created_at
        assert history[0].stage.position == 0 or len(history) == 1  # or created straight into its stage
        assert {stay.stage.pipeline_id for stay in history} == {deal.pipeline_id}
        for before, after in zip(history, history[1:], strict=False):
            assert before.entered_at < before.exited_at <= after.entered_at
            backward += after.stage.position < before.stage.position
            reopened += before.exited_at < after.entered_at
        last = history[-1]
        assert (last.stage_id, last.entered_at) == (deal.stage_id, deal.stage_entered_at)
        assert deal.last_activity_at >= deal.stage_entered_at and last.moved_by_id == deal.owner_id
        if deal.status == "open":
            assert last.exited_at is None and deal.stage_entered_at < ANCHOR
        else:
            assert last.exited_at == deal.closed_at <= deal.last_activity_at
    assert backward >= 3 and reopened >= 1
    open_stays = Counter(DealStageHistory.objects.filter(exited_at__isnull=True).values_list("deal", flat=True))
    assert sorted(open_stays) == sorted(d.pk for d in deals if d.status == "open") and set(open_stays.values()) == {1}
    columns: dict[int, list[int]] = {}
    for deal in deals:
        if deal.status == "open":
            columns.setdefault(deal.stage_id, []).append(deal.position)
    assert all(sorted(positions) == list(range(len(positions))) for positions in columns.values())
    stale = [d for d in deals if d.status == "open" and d.stage_entered_at < ANCHOR - timedelta(
        days=d.stage.rotting_days)]
    assert 0 < len(stale) < len([d for d in deals if d.status == "open"])


def test_a_data_set_of_version_2_gets_its_deal_history_in_place_as_a_new_generation_would():
    first = tiny()
    generated = deal_history()
    assert generated["stays"]
    # What generator version 2 left behind: no stage history, no stage_entered_at.
    DealStageHistory.objects.all().delete()
    Deal.objects.update(stage_entered_at=None)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE bench_dataset SET version = 2, "
                       "counts = counts || jsonb_build_object('deal_stage_history', 0)")

    upgraded = tiny()

    assert upgraded.reused and upgraded.version == GENERATOR_VERSION == current_dataset().version
    assert upgraded.generated_at == first.generated_at
    assert deal_history() == generated
    assert current_dataset().counts["deal_stage_history"] == len(generated["stays"])
    assert tiny().reused  # and it is reused as it is from now on
