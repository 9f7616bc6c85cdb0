"""/api/v1/pipelines/, /api/v1/lost-reasons/ and /api/v1/deals/: the shapes, the rules, the scoping per role,
bad input as 400s with field errors, Idempotency-Key on the board's POSTs, and constant query counts."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import factory
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, CustomField, Task
from lifecycle.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from lifecycle.api.idempotency import REPLAYED_HEADER
from lifecycle.models import StageTransition
from lifecycle.services import stage_sets_ensure_defaults
from pipelines.models import Deal, DealStageHistory, LostReason, Pipeline, Stage
from pipelines.services import deal_create, deal_lost, deal_move, deal_won, pipeline_create
from tests.api_base import (
    CreateTests,
    DeleteTests,
    ListTests,
    RestrictedReadTests,
    RetrieveTests,
    UpdateTests,
    assert_error,
    bearer_client,
)
from tests.contacts.api_factories import AccountFactory, ContactFactory, CustomFieldFactory
from users.models import ApiKey

HUGE = 10**20  # past PostgreSQL's bigint
DEALS = "pipelines-api:deal-list"
PIPELINES = "pipelines-api:pipeline-list"
LOST_REASONS = "pipelines-api:lost-reason-list"


def deal_url(deal, action: str = "detail") -> str:
    return reverse(f"pipelines-api:deal-{action}", kwargs={"pk": getattr(deal, "pk", deal)})


def pipeline_url(pipeline) -> str:
    return reverse("pipelines-api:pipeline-detail", kwargs={"pk": pipeline.pk})


def sales_pipeline() -> Pipeline:
    return Pipeline.objects.filter(name="Sales").first() or pipeline_create(name="Sales")


def stages_of(pipeline) -> dict[str, Stage]:
    return {stage.name: stage for stage in pipeline.stages.all()}


def column(stage) -> list[str]:
    return list(Deal.objects.filter(stage=stage, status="open").order_by("position").values_list("title", flat=True))


class PipelineFactory(factory.django.DjangoModelFactory):
    """A pipeline with the default stages, made by the service as the API makes them."""

    class Meta:
        model = Pipeline

    name = factory.Sequence(lambda n: f"Pipeline {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return pipeline_create(**kwargs)


class LostReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LostReason

    name = factory.Sequence(lambda n: f"Reason {n}")
    position = factory.Sequence(lambda n: 100 + n)


class DealFactory(factory.django.DjangoModelFactory):
    """An open, unassigned deal in the "Sales" pipeline's first stage, made by deal_create."""

    class Meta:
        model = Deal

    title = factory.Sequence(lambda n: f"Deal {n}")
    pipeline = factory.LazyFunction(sales_pipeline)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return deal_create(**kwargs)


@pytest.fixture
def sales(db):
    pipeline = sales_pipeline()
    return pipeline, stages_of(pipeline)


@pytest.fixture
def lifecycle_stages(db):
    return {stage.name: stage for stage in stage_sets_ensure_defaults().stages.all()}


# --- Pipelines: the resource ----------------------------------------------------------------------

@pytest.fixture
def another_pipeline(db):
    """The last pipeline cannot be deleted: keep one more around."""
    return pipeline_create(name="Keep")


@pytest.mark.django_db
class TestPipelinesApi(ListTests, RetrieveTests, CreateTests, UpdateTests, RestrictedReadTests):
    list_url_name = PIPELINES
    detail_url_name = "pipelines-api:pipeline-detail"
    factory = PipelineFactory
    create_payload = {"name": "Enterprise", "radio_silent_days": 30}
    update_payload = {"name": "Mid-market", "won_makes_customer": False}
    invalid_payloads = [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Renewals", "stages": []}, "stages"),
        ({"name": "Renewals", "stages": [{"name": "A", "probability": 101}]}, "stages.0.probability"),
        ({"name": "Renewals", "stages": [{"name": "A", "rotting_days": -1}]}, "stages.0.rotting_days"),
        ({"name": "Renewals", "stages": [{"probability": 5}]}, "stages.0.name"),
        ({"name": "Renewals", "stages": "Contact, Meeting"}, "stages"),
        ({"name": "Renewals", "radio_silent_days": 0}, "radio_silent_days"),
        ({"name": "Renewals", "colour": "red"}, "colour"),
    ]
    readers = ("admin", "manager", "marketer", "rep_alice")
    non_readers = ("outsider",)
    writers = ("admin",)
    non_writers = ("manager", "marketer", "rep_alice", "outsider")


@pytest.mark.django_db
@pytest.mark.usefixtures("another_pipeline")
class TestPipelineDelete(DeleteTests):
    list_url_name = PIPELINES
    detail_url_name = "pipelines-api:pipeline-detail"
    factory = PipelineFactory
    writers = ("admin",)
    non_writers = ("manager", "marketer", "rep_alice", "outsider")


def test_a_pipeline_reads_with_its_rules_and_stages_in_order(personas):
    pipeline = pipeline_create(name="Partners", stages=[("Intro", 10, 7), ("Pilot", 50, None), ("Signed", 100, 30)])

    body = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ).get(pipeline_url(pipeline)).json()

    assert set(body) == {"id", "name", "won_makes_customer", "radio_silent_days", "created_at", "stages", "url"}
    assert (body["name"], body["won_makes_customer"], body["radio_silent_days"]) == ("Partners", True, 14)
    assert [(s["name"], s["position"], s["probability"], s["rotting_days"]) for s in body["stages"]] == [
        ("Intro", 0, 10, 7), ("Pilot", 1, 50, None), ("Signed", 2, 100, 30)]
    assert body["stages"][0]["id"] == pipeline.stages.get(name="Intro").pk


def test_a_new_pipeline_gets_the_stages_sent_or_the_default_six(personas):
    client = bearer_client(personas.admin)

    custom = client.post(reverse(PIPELINES), {"name": " Partners ", "won_makes_customer": False, "stages": [
        {"name": "Intro", "probability": 10, "rotting_days": 7}, {"name": "Signed", "probability": 100}]},
        format="json")
    default = client.post(reverse(PIPELINES), {"name": "Inbound"}, format="json")

    assert custom.status_code == 201, custom.content
    pipeline = Pipeline.objects.get(pk=custom.json()["id"])
    assert (pipeline.name, pipeline.won_makes_customer) == ("Partners", False)
    assert list(pipeline.stages.values_list("name", "position", "probability", "rotting_days")) == [
        ("Intro", 0, 10, 7), ("Signed", 1, 100, None)]
    assert [s["name"] for s in default.json()["stages"]] == [
        "Contact", "Qualification", "Meeting", "Proposal", "Closing", "Retention"]


def test_a_new_pipeline_refuses_two_stages_of_one_name_and_stage_ids(personas, sales):
    client = bearer_client(personas.admin)
    _pipeline, stages = sales

    twice = client.post(reverse(PIPELINES), {"name": "X", "stages": [{"name": "A"}, {"name": "A "}]}, format="json")
    with_id = client.post(reverse(PIPELINES), {"name": "X", "stages": [{"id": stages["Contact"].pk}]}, format="json")
    taken = client.post(reverse(PIPELINES), {"name": "Sales"}, format="json")

    assert "“A”" in assert_error(twice, 400, "invalid", fields=("stages.1.name",))["fields"]["stages.1.name"][0]
    assert_error(with_id, 400, "invalid", fields=("stages",))
    assert_error(taken, 400, "invalid", fields=("name",))
    assert not Pipeline.objects.filter(name="X").exists()


def test_writes_on_pipelines_are_refused_with_a_message_for_every_role_but_admins(personas, sales):
    pipeline, _stages = sales
    for name in ("manager", "marketer", "rep_alice"):
        client = bearer_client(getattr(personas, name))
        error = assert_error(client.patch(pipeline_url(pipeline), {"name": "Mine"}, format="json"), 403,
                             "permission_denied")
        assert error["message"] == "Only admins may change pipelines, their stages and lost reasons."
    assert Pipeline.objects.get(pk=pipeline.pk).name == "Sales"


# --- Pipelines: editing the stages ----------------------------------------------------------------

def test_a_patch_with_stages_renames_reorders_adds_and_deletes_them(personas, sales):
    pipeline, s = sales
    payload = {"stages": [
        {"id": s["Qualification"].pk, "name": "Discovery", "probability": 25},
        {"id": s["Contact"].pk},
        {"name": "Demo", "probability": 45, "rotting_days": 10},
        {"id": s["Proposal"].pk, "rotting_days": None, "position": 99},  # a GET's position is ignored
        {"id": s["Closing"].pk},
    ]}  # Meeting and Retention are left out: deleted (they never had deals)

    response = bearer_client(personas.admin).patch(pipeline_url(pipeline), payload, format="json")

    assert response.status_code == 200, response.content
    rows = list(pipeline.stages.order_by("position").values_list("pk", "name", "position", "probability",
                                                                 "rotting_days"))
    demo = Stage.objects.get(pipeline=pipeline, name="Demo")
    assert rows == [(s["Qualification"].pk, "Discovery", 0, 25, 14), (s["Contact"].pk, "Contact", 1, 10, 14),
                    (demo.pk, "Demo", 2, 45, 10), (s["Proposal"].pk, "Proposal", 3, 60, None),
                    (s["Closing"].pk, "Closing", 4, 80, 14)]
    assert [stage["name"] for stage in response.json()["stages"]] == [
        "Discovery", "Contact", "Demo", "Proposal", "Closing"]


def test_two_stages_may_swap_names_and_a_new_stage_may_take_a_deleted_ones_name(personas, sales):
    pipeline, s = sales
    payload = {"stages": [{"id": s["Contact"].pk, "name": "Qualification"},
                          {"id": s["Qualification"].pk, "name": "Contact"},
                          {"name": "Meeting", "probability": 33}]}

    response = bearer_client(personas.admin).patch(pipeline_url(pipeline), payload, format="json")

    assert response.status_code == 200, response.content
    assert list(pipeline.stages.order_by("position").values_list("pk", "name")) == [
        (s["Contact"].pk, "Qualification"), (s["Qualification"].pk, "Contact"),
        (Stage.objects.get(pipeline=pipeline, name="Meeting", probability=33).pk, "Meeting")]
    assert not Stage.objects.filter(pk=s["Meeting"].pk).exists()


def test_leaving_out_a_stage_with_deals_is_refused_and_nothing_changes(personas, sales):
    pipeline, s = sales
    deal_create(title="Stuck", pipeline=pipeline, stage=s["Meeting"])
    before = list(pipeline.stages.values_list("pk", "name", "position", "probability"))
    keep = [{"id": stage.pk} for name, stage in s.items() if name != "Meeting"]
    keep[0]["name"] = "Renamed"

    response = bearer_client(personas.admin).patch(pipeline_url(pipeline), {"name": "Sales 2", "stages": keep},
                                                   format="json")

    field = f"move_deals_to.{s['Meeting'].pk}"
    error = assert_error(response, 400, "invalid", fields=(field,))
    assert "“Meeting”" in error["fields"][field][0] and "1 deal is" in error["fields"][field][0]
    assert list(pipeline.stages.values_list("pk", "name", "position", "probability")) == before
    assert Pipeline.objects.get(pk=pipeline.pk).name == "Sales"


def test_move_deals_to_sends_a_deleted_stages_deals_and_history_to_a_kept_stage(personas, sales):
    pipeline, s = sales
    open_deal = deal_create(title="Open", pipeline=pipeline, stage=s["Meeting"])
    won = deal_create(title="Won", pipeline=pipeline, stage=s["Meeting"])
    deal_won(deal=won)
    passed = deal_create(title="Passed", pipeline=pipeline, stage=s["Meeting"])
    deal_move(deal=passed, stage=s["Closing"], position=0)
    keep = [{"id": stage.pk} for name, stage in s.items() if name != "Meeting"]

    response = bearer_client(personas.admin).patch(
        pipeline_url(pipeline), {"stages": keep, "move_deals_to": {str(s["Meeting"].pk): s["Proposal"].pk}},
        format="json")

    assert response.status_code == 200, response.content
    assert not Stage.objects.filter(pk=s["Meeting"].pk).exists()
    assert column(s["Proposal"]) == ["Open"]
    assert Deal.objects.get(pk=won.pk).stage == s["Proposal"]
    assert not DealStageHistory.objects.filter(stage_id=s["Meeting"].pk).exists()
    assert DealStageHistory.objects.filter(deal=open_deal, stage=s["Proposal"], exited_at__isnull=True).exists()


@pytest.mark.parametrize("targets, why", [
    ("none", "left out"), ("deleted", "stage that stays"), ("other pipeline", "stage that stays"),
])
def test_move_deals_to_must_name_a_kept_stage_of_the_pipeline(personas, sales, targets, why):
    pipeline, s = sales
    deal_create(title="Stuck", pipeline=pipeline, stage=s["Meeting"])
    other = pipeline_create(name="Other")
    target = {"deleted": s["Retention"].pk, "other pipeline": other.stages.first().pk}.get(targets)
    keep = [{"id": stage.pk} for name, stage in s.items() if name not in ("Meeting", "Retention")]
    body = {"stages": keep, **({"move_deals_to": {s["Meeting"].pk: target}} if target else {})}

    response = bearer_client(personas.admin).patch(pipeline_url(pipeline), body, format="json")

    field = f"move_deals_to.{s['Meeting'].pk}"
    assert why in assert_error(response, 400, "invalid", fields=(field,))["fields"][field][0]
    assert Stage.objects.filter(pk__in=[s["Meeting"].pk, s["Retention"].pk]).count() == 2


@pytest.mark.parametrize("stages, field", [
    ("other pipeline", "stages.0.id"), ("twice", "stages.1.id"), ("same name", "stages.1.name"),
    ("no name", "stages.0.name"), ("not a list", "stages"),
])
def test_bad_stage_lists_are_400s_naming_the_item(personas, sales, stages, field):
    pipeline, s = sales
    other = pipeline_create(name="Other").stages.first()
    body = {
        "other pipeline": [{"id": other.pk}],
        "twice": [{"id": s["Contact"].pk}, {"id": s["Contact"].pk}],
        "same name": [{"id": s["Contact"].pk}, {"id": s["Meeting"].pk, "name": "Contact"}],
        "no name": [{"name": "  "}],
        "not a list": {"id": s["Contact"].pk},
    }[stages]

    response = bearer_client(personas.admin).patch(pipeline_url(pipeline), {"stages": body}, format="json")

    assert_error(response, 400, "invalid", fields=(field,))
    assert pipeline.stages.count() == 6


def test_move_deals_to_without_stages_is_refused(personas, sales):
    pipeline, s = sales
    response = bearer_client(personas.admin).patch(
        pipeline_url(pipeline), {"move_deals_to": {s["Meeting"].pk: s["Contact"].pk}}, format="json")

    assert_error(response, 400, "invalid", fields=("move_deals_to",))


def test_a_pipeline_with_deals_or_the_last_one_is_not_deleted(personas, sales):
    pipeline, _s = sales
    deal_create(title="Keeps it", pipeline=pipeline)
    client = bearer_client(personas.admin)

    assert_error(client.delete(pipeline_url(pipeline)), 400, "invalid")
    Deal.objects.all().delete()
    assert_error(client.delete(pipeline_url(pipeline)), 400, "invalid")
    assert Pipeline.objects.filter(pk=pipeline.pk).exists()


# --- Lost reasons -----------------------------------------------------------------------------

@pytest.mark.django_db
class TestLostReasonsApi(ListTests, RetrieveTests, CreateTests, UpdateTests, RestrictedReadTests):
    list_url_name = LOST_REASONS
    detail_url_name = "pipelines-api:lost-reason-detail"
    factory = LostReasonFactory
    create_payload = {"name": "Went dark"}
    update_payload = {"name": "Ghosted", "is_active": False, "position": 3}
    invalid_payloads = [({"name": ""}, "name"), ({"name": "x" * 101}, "name"), ({"name": "Price"}, "name"),
                        ({"name": "A", "is_active": "perhaps"}, "is_active"), ({"name": "A", "id": 3}, "id")]
    readers = ("admin", "manager", "marketer", "rep_alice")
    non_readers = ("outsider",)
    writers = ("admin",)
    non_writers = ("manager", "marketer", "rep_alice", "outsider")


def test_lost_reasons_are_retired_not_deleted_and_filter_by_active(personas):
    reason = LostReason.objects.get(name="Price")
    client = bearer_client(personas.admin)

    assert client.patch(reverse("pipelines-api:lost-reason-detail", kwargs={"pk": reason.pk}),
                        {"is_active": False}, format="json").status_code == 200
    retired = client.get(reverse(LOST_REASONS), {"is_active": "false"}).json()["results"]
    active = client.get(reverse(LOST_REASONS), {"is_active": "true"}).json()["results"]

    assert [row["name"] for row in retired] == ["Price"]
    assert "Price" not in [row["name"] for row in active] and active
    deleted = client.delete(reverse("pipelines-api:lost-reason-detail", kwargs={"pk": reason.pk}))
    assert_error(deleted, 405, "method_not_allowed")


# --- Deals: the resource --------------------------------------------------------------------------

class DealResource:
    list_url_name = DEALS
    detail_url_name = "pipelines-api:deal-detail"
    factory = DealFactory

    def assert_matches(self, obj, payload: dict) -> None:
        obj.refresh_from_db()
        for field, value in payload.items():
            stored = getattr(obj, f"{field}_id" if field in ("pipeline", "stage", "owner") else field)
            if field in ("value", "budget"):
                value = Decimal(value)
            assert stored == value, (field, stored, value)


@pytest.mark.django_db
class TestDealsApi(DealResource, ListTests, RetrieveTests, CreateTests, UpdateTests, RestrictedReadTests):
    update_payload = {"title": "Renewal 2027", "value": "99.90", "currency": "GBP", "need": "Fewer spreadsheets"}
    invalid_payloads = [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "A", "value": "-1"}, "value"),
        ({"title": "A", "value": "1.234"}, "value"),
        ({"title": "A", "value": "lots"}, "value"),
        ({"title": "A", "value": "1e20"}, "value"),
        ({"title": "A", "currency": "XYZ"}, "currency"),
        ({"title": "A", "currency": 42}, "currency"),
        ({"title": "A", "budget": "-5"}, "budget"),
        ({"title": "A", "expected_close_date": "2026-13-01"}, "expected_close_date"),
        ({"title": "A", "contact": HUGE}, "contact"),
        ({"title": "A", "contact": "ada"}, "contact"),
        ({"title": "A", "account": 999_999}, "account"),
        ({"title": "A", "other_contacts": [HUGE]}, "other_contacts"),
        ({"title": "A", "other_contacts": 5}, "other_contacts"),
        ({"title": "A", "owner": 999_999}, "owner"),
        ({"title": "A", "owner": True}, "owner"),
        ({"title": "A", "fields": ["x"]}, "fields"),
        ({"title": "A", "status": "won"}, "status"),
        ({"title": "A", "position": 3}, "position"),
        ({"title": "A", "nickname": "Big one"}, "nickname"),
    ]
    readers = ("admin", "manager", "marketer", "rep_alice")
    non_readers = ("outsider",)
    writers = ("admin", "manager", "rep_alice")
    non_writers = ("marketer", "outsider")

    @property
    def create_payload(self):
        return {"title": "Acme renewal", "pipeline": sales_pipeline().pk, "value": "1200.50", "currency": "EUR"}


@pytest.mark.django_db
class TestDealDelete(DealResource, DeleteTests):
    writers = ("admin", "manager")
    non_writers = ("rep_alice", "marketer", "outsider")


def test_a_deal_reads_with_its_relations_facts_and_custom_fields(personas, sales):
    pipeline, s = sales
    CustomFieldFactory(key="seats", label="Seats", type=CustomField.Type.NUMBER, object=CustomField.Object.DEAL)
    account = AccountFactory(name="Acme")
    ada, grace = ContactFactory(email="ada@acme.com", first_name="Ada", last_name="L"), ContactFactory()
    reason = LostReason.objects.get(name="Price")
    deal = deal_create(title="Acme", pipeline=pipeline, stage=s["Proposal"], value=Decimal("1000.00"),
                       currency="EUR", contact=ada, other_contacts=[grace], account=account,
                       owner=personas.rep_alice, expected_close_date=date(2026, 12, 1), budget=Decimal("5000"),
                       authority="CFO", need="Reporting", timeline="Q4", fields={"seats": 40})
    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=timezone.now() - timedelta(days=22, hours=1))

    body = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ).get(deal_url(deal)).json()

    assert set(body) == {
        "id", "title", "pipeline", "stage", "value", "currency", "contact", "other_contacts", "account", "owner",
        "status", "lost_reason", "expected_close_date", "budget", "authority", "need", "timeline", "fields",
        "position", "created_at", "stage_entered_at", "closed_at", "last_activity_at", "weighted_value",
        "days_in_stage", "is_stale", "is_radio_silent", "url"}
    assert body["pipeline"] == {"id": pipeline.pk, "name": "Sales"}
    assert body["stage"] == {"id": s["Proposal"].pk, "name": "Proposal", "probability": 60}
    assert (body["value"], body["currency"], body["weighted_value"], body["budget"]) == (
        "1000.00", "EUR", "600.00", "5000.00")
    assert body["contact"] == {"id": ada.pk, "email": "ada@acme.com", "name": "Ada L"}
    assert body["other_contacts"] == [grace.pk]
    assert body["account"] == {"id": account.pk, "name": "Acme"}
    assert body["owner"] == {"id": personas.rep_alice.pk, "username": "rep_alice"}
    assert (body["status"], body["lost_reason"], body["closed_at"]) == ("open", None, None)
    assert (body["expected_close_date"], body["authority"], body["fields"]) == ("2026-12-01", "CFO", {"seats": 40})
    assert (body["days_in_stage"], body["is_stale"], body["is_radio_silent"]) == (22, True, False)
    assert body["url"].endswith(deal_url(deal))

    deal_lost(deal=deal, reason=reason)
    body = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ).get(deal_url(deal)).json()
    assert (body["status"], body["lost_reason"], body["days_in_stage"], body["is_stale"]) == (
        "lost", {"id": reason.pk, "name": "Price"}, None, False)
    assert body["closed_at"]


def test_the_list_costs_the_same_queries_for_3_or_30_deals_with_relations(personas, sales):
    pipeline, s = sales
    client = bearer_client(personas.manager, scope=ApiKey.Scope.READ)
    client.get(reverse(DEALS))  # the key's first use writes last_used_at

    def make(n):
        for i in range(n):
            contact = ContactFactory(account=AccountFactory(), owner=personas.rep_alice)
            deal = deal_create(title=f"D{i}", pipeline=pipeline, stage=s["Meeting"], contact=contact,
                               other_contacts=[ContactFactory(), ContactFactory()], account=contact.account,
                               owner=personas.rep_alice)
            Task.objects.create(deal=deal, title="Call", due_at=timezone.now() + timedelta(days=1))
        deal_lost(deal=deal, reason=LostReason.objects.first())

    make(3)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(reverse(DEALS), {"pipeline": pipeline.pk}).json()["results"]) == 3
    make(27)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(reverse(DEALS), {"pipeline": pipeline.pk}).json()["results"]) == 30
    assert len(many) == len(few) <= 6, [query["sql"] for query in many.captured_queries]


def test_pages_follow_the_sort(personas, sales):
    pipeline, _s = sales
    for value in ("300", "100", "200"):
        deal_create(title=value, pipeline=pipeline, value=Decimal(value))
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)

    first = client.get(reverse(DEALS), {"sort": "-value", "page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert [row["title"] for row in first["results"] + second["results"]] == ["300", "200", "100"]
    assert_error(client.get(reverse(DEALS), {"sort": "colour"}), 400, "invalid", fields=("sort",))


# --- Deals: create and change -----------------------------------------------------------------------

def test_create_takes_every_field_in_the_stage_given_and_records_the_first_stay(personas, sales):
    pipeline, s = sales
    contact = ContactFactory(account=AccountFactory(name="Acme"))
    other = ContactFactory()
    payload = {"title": " Acme ", "stage": s["Meeting"].pk, "value": 1500, "currency": "eur",
               "contact": contact.pk, "other_contacts": [other.pk, contact.pk], "owner": personas.manager.pk,
               "expected_close_date": "2026-09-30", "budget": "2000.00", "authority": "CTO", "need": "Scale",
               "timeline": "Q3"}

    response = bearer_client(personas.manager).post(reverse(DEALS), payload, format="json")

    assert response.status_code == 201, response.content
    deal = Deal.objects.get(pk=response.json()["id"])
    assert (deal.title, deal.pipeline, deal.stage, deal.value, deal.currency) == (
        "Acme", pipeline, s["Meeting"], Decimal("1500.00"), "EUR")
    assert (deal.account.name, deal.owner, deal.expected_close_date) == ("Acme", personas.manager, date(2026, 9, 30))
    assert list(deal.other_contacts.all()) == [other]
    stay = DealStageHistory.objects.get(deal=deal)
    assert (stay.stage, stay.moved_by, stay.exited_at) == (s["Meeting"], personas.manager, None)
    assert contact.events.filter(type="deal_created").exists()


def test_a_rep_owns_the_deals_they_create_unless_they_ask_for_unassigned(personas, sales):
    pipeline, _s = sales
    rep, admin = bearer_client(personas.rep_alice), bearer_client(personas.admin)

    mine = rep.post(reverse(DEALS), {"title": "Mine", "pipeline": pipeline.pk}, format="json").json()
    nobody = rep.post(reverse(DEALS), {"title": "Nobody's", "pipeline": pipeline.pk, "owner": None},
                      format="json").json()
    admins = admin.post(reverse(DEALS), {"title": "Admin's", "pipeline": pipeline.pk}, format="json").json()

    assert mine["owner"]["id"] == personas.rep_alice.pk
    assert nobody["owner"] is None
    assert admins["owner"] is None


@pytest.mark.parametrize("who, owner, allowed", [
    ("rep_alice", "rep_alice", True), ("rep_alice", "rep_bob", False), ("rep_alice", "manager", False),
    ("manager", "rep_alice", True), ("manager", "manager", True), ("manager", "rep_bob", False),
    ("admin", "rep_bob", True),
])
def test_an_owner_must_be_someone_whose_deals_the_caller_sees(personas, sales, who, owner, allowed):
    pipeline, _s = sales
    response = bearer_client(getattr(personas, who)).post(
        reverse(DEALS), {"title": "T", "pipeline": pipeline.pk, "owner": getattr(personas, owner).pk}, format="json")

    if allowed:
        assert response.status_code == 201, response.content
    else:
        assert_error(response, 400, "invalid", fields=("owner",))
        assert not Deal.objects.exists()


def test_reps_see_all_deals_may_give_deals_to_anyone(personas, sales, settings):
    settings.REPS_SEE_ALL_DEALS = True
    response = bearer_client(personas.rep_alice).post(
        reverse(DEALS), {"title": "T", "pipeline": sales[0].pk, "owner": personas.rep_bob.pk}, format="json")

    assert response.status_code == 201, response.content


@pytest.mark.parametrize("field", ["contact", "account", "other_contacts"])
def test_contacts_and_accounts_a_rep_may_not_see_are_field_errors(personas, sales, field):
    pipeline, _s = sales
    hidden = (AccountFactory if field == "account" else ContactFactory)(owner=personas.rep_bob)
    value = [hidden.pk] if field == "other_contacts" else hidden.pk
    client = bearer_client(personas.rep_alice)

    created = client.post(reverse(DEALS), {"title": "T", "pipeline": pipeline.pk, field: value}, format="json")
    deal = deal_create(title="Mine", pipeline=pipeline, owner=personas.rep_alice)
    changed = client.patch(deal_url(deal), {field: value}, format="json")

    assert "not yours to see" in assert_error(created, 400, "invalid", fields=(field,))["fields"][field][0]
    assert_error(changed, 400, "invalid", fields=(field,))
    assert Deal.objects.count() == 1


def test_create_needs_a_pipeline_or_a_stage_of_it(personas, sales):
    pipeline, s = sales
    other = pipeline_create(name="Other")
    client = bearer_client(personas.admin)

    assert_error(client.post(reverse(DEALS), {"title": "T"}, format="json"), 400, "invalid", fields=("pipeline",))
    mismatch = client.post(reverse(DEALS), {"title": "T", "pipeline": other.pk, "stage": s["Meeting"].pk},
                           format="json")
    assert_error(mismatch, 400, "invalid", fields=("stage",))
    missing = client.post(reverse(DEALS), {"title": "T", "pipeline": HUGE}, format="json")
    assert_error(missing, 400, "invalid", fields=("pipeline",))
    by_stage = client.post(reverse(DEALS), {"title": "T", "stage": s["Meeting"].pk}, format="json")
    assert by_stage.json()["pipeline"]["id"] == pipeline.pk
    assert Deal.objects.count() == 1


def test_custom_fields_are_checked_by_type_and_merged_on_patch(personas, sales):
    pipeline, _s = sales
    CustomFieldFactory(key="seats", label="Seats", type=CustomField.Type.NUMBER, object=CustomField.Object.DEAL)
    CustomFieldFactory(key="region", label="Region", type=CustomField.Type.TEXT, object=CustomField.Object.DEAL)
    client = bearer_client(personas.admin)

    bad = client.post(reverse(DEALS), {"title": "T", "pipeline": pipeline.pk, "fields": {"seats": "lots"}},
                      format="json")
    unknown = client.post(reverse(DEALS), {"title": "T", "pipeline": pipeline.pk, "fields": {"colour": "red"}},
                          format="json")
    deal = client.post(reverse(DEALS), {"title": "T", "pipeline": pipeline.pk,
                                        "fields": {"seats": 10, "region": "EMEA"}}, format="json").json()
    patched = client.patch(deal_url(deal["id"]), {"fields": {"seats": 12, "region": None}}, format="json").json()

    assert_error(bad, 400, "invalid", fields=("fields",))
    assert_error(unknown, 400, "invalid", fields=("fields",))
    assert patched["fields"] == {"seats": 12}


def test_patch_changes_only_what_it_sends_and_records_value_and_owner_changes(personas, sales):
    pipeline, _s = sales
    contact = ContactFactory()
    deal = deal_create(title="T", pipeline=pipeline, contact=contact, value=Decimal("10"), need="Speed")

    response = bearer_client(personas.manager).patch(
        deal_url(deal), {"value": "25.50", "owner": personas.rep_alice.pk}, format="json")

    assert response.status_code == 200, response.content
    deal.refresh_from_db()
    assert (deal.value, deal.owner, deal.need, deal.title) == (Decimal("25.50"), personas.rep_alice, "Speed", "T")
    assert set(contact.events.values_list("type", flat=True)) >= {"deal_value_changed", "deal_owner_changed"}


@pytest.mark.parametrize("field", ["stage", "pipeline", "status", "lost_reason", "position", "closed_at"])
def test_patch_points_stage_and_status_changes_to_their_endpoints(personas, sales, field):
    pipeline, s = sales
    deal = deal_create(title="T", pipeline=pipeline)

    response = bearer_client(personas.admin).patch(deal_url(deal), {field: s["Meeting"].pk}, format="json")

    assert_error(response, 400, "invalid", fields=(field,))
    assert Deal.objects.get(pk=deal.pk).stage == s["Contact"]


# --- Deals: who sees and changes which ----------------------------------------------------------

@pytest.fixture
def owned(personas, sales):
    """A deal of each owner: alice (team Sales), bob (team Partners), the manager (Sales), and nobody."""
    pipeline, _s = sales
    return {name: deal_create(title=name, pipeline=pipeline, owner=getattr(personas, name) if name != "nobody"
                              else None)
            for name in ("rep_alice", "rep_bob", "manager", "nobody")}


VISIBLE = {
    "admin": {"rep_alice", "rep_bob", "manager", "nobody"},
    "marketer": {"rep_alice", "rep_bob", "manager", "nobody"},
    "manager": {"rep_alice", "manager", "nobody"},
    "rep_alice": {"rep_alice", "nobody"},
    "rep_bob": {"rep_bob", "nobody"},
}


@pytest.mark.parametrize("who", list(VISIBLE))
def test_each_role_lists_and_reads_only_the_deals_in_its_scope(personas, owned, who):
    client = bearer_client(getattr(personas, who), scope=ApiKey.Scope.READ)

    listed = {row["title"] for row in client.get(reverse(DEALS)).json()["results"]}

    assert listed == VISIBLE[who]
    for name, deal in owned.items():
        response = client.get(deal_url(deal))
        if name in VISIBLE[who]:
            assert response.status_code == 200
        else:
            assert_error(response, 404, "not_found")
            assert_error(client.get(deal_url(deal, "history")), 404, "not_found")


@pytest.mark.parametrize("who", ["rep_alice", "manager"])
def test_deals_outside_the_scope_are_404_for_every_write(personas, owned, sales, who):
    _pipeline, s = sales
    client = bearer_client(getattr(personas, who))
    theirs = owned["rep_bob"]

    assert_error(client.patch(deal_url(theirs), {"title": "Mine now"}, format="json"), 404, "not_found")
    assert_error(client.post(deal_url(theirs, "move"), {"stage": s["Meeting"].pk}, format="json"), 404)
    assert_error(client.post(deal_url(theirs, "won"), format="json"), 404)
    assert_error(client.post(deal_url(theirs, "lost"), {"reason": "Price"}, format="json"), 404)
    assert_error(client.post(deal_url(theirs, "reopen"), format="json"), 404)
    if who == "manager":
        assert_error(client.delete(deal_url(theirs)), 404)
    theirs.refresh_from_db()
    assert (theirs.title, theirs.stage, theirs.status) == ("rep_bob", s["Contact"], "open")


def test_reps_move_their_own_and_unassigned_deals(personas, owned, sales):
    _pipeline, s = sales
    client = bearer_client(personas.rep_alice)

    for name in ("rep_alice", "nobody"):
        response = client.post(deal_url(owned[name], "move"), {"stage": s["Meeting"].pk}, format="json")
        assert response.status_code == 200, response.content
    assert column(s["Meeting"]) == ["rep_alice", "nobody"]


def test_reps_see_and_move_every_deal_when_reps_see_all_deals_is_on(personas, owned, sales, settings):
    settings.REPS_SEE_ALL_DEALS = True
    _pipeline, s = sales
    client = bearer_client(personas.rep_alice)

    assert len(client.get(reverse(DEALS)).json()["results"]) == 4
    response = client.post(deal_url(owned["rep_bob"], "move"), {"stage": s["Meeting"].pk}, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("who, message", [
    ("marketer", "Marketers read deals but do not change them."),
    ("outsider", "Your account has no role, so it has no deals; ask an admin for one."),
])
def test_marketers_read_every_deal_but_change_none_and_outsiders_get_nothing(personas, owned, sales, who, message):
    _pipeline, s = sales
    client = bearer_client(getattr(personas, who))
    deal = owned["nobody"]

    for response in (
        client.post(reverse(DEALS), {"title": "T", "pipeline": deal.pipeline_id}, format="json"),
        client.patch(deal_url(deal), {"title": "New"}, format="json"),
        client.post(deal_url(deal, "move"), {"stage": s["Meeting"].pk}, format="json"),
        client.post(deal_url(deal, "won"), format="json"),
        client.post(deal_url(deal, "lost"), {"reason": "Price"}, format="json"),
        client.delete(deal_url(deal)),
    ):
        assert assert_error(response, 403, "permission_denied")["message"] == message
    deal.refresh_from_db()
    assert (deal.title, deal.stage, deal.status) == ("nobody", s["Contact"], "open")


def test_a_rep_may_not_delete_a_deal_and_is_told_what_to_do_instead(personas, owned):
    error = assert_error(bearer_client(personas.rep_alice).delete(deal_url(owned["rep_alice"])), 403)

    assert "mark it lost" in error["message"]
    assert Deal.objects.filter(pk=owned["rep_alice"].pk).exists()


def test_a_read_only_key_may_not_move_a_deal(personas, owned, sales):
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)
    response = client.post(deal_url(owned["nobody"], "move"), {"stage": sales[1]["Meeting"].pk}, format="json")

    assert "read-only" in assert_error(response, 403, "permission_denied")["message"]


# --- Deals: filters -----------------------------------------------------------------------------

def test_the_list_filters_like_the_board(personas, sales):
    pipeline, s = sales
    other = pipeline_create(name="Other")
    ada = ContactFactory(first_name="Ada")
    account = AccountFactory(name="Initech")
    now = timezone.now()
    big = deal_create(title="Big", pipeline=pipeline, stage=s["Meeting"], value=Decimal("50000"),
                      owner=personas.rep_alice, expected_close_date=date(2026, 3, 1), account=account)
    small = deal_create(title="Small", pipeline=pipeline, value=Decimal("500"), contact=ada,
                        expected_close_date=date(2026, 5, 1))
    also = deal_create(title="Also Ada", pipeline=other, other_contacts=[ada])
    won = deal_create(title="Won", pipeline=pipeline, value=Decimal("900"))
    deal_won(deal=won)
    Deal.objects.filter(pk=small.pk).update(stage_entered_at=now - timedelta(days=30), last_activity_at=None)
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)

    def titles(**params):
        response = client.get(reverse(DEALS), params)
        assert response.status_code == 200, response.content
        return sorted(row["title"] for row in response.json()["results"])

    assert titles(pipeline=other.pk) == ["Also Ada"]
    assert titles(stage=s["Meeting"].pk) == ["Big"]
    assert titles(owner=personas.rep_alice.pk) == ["Big"]
    assert titles(owner="none", pipeline=pipeline.pk) == ["Small", "Won"]
    assert titles(status="won") == ["Won"]
    assert titles(stale="true") == ["Small"]
    assert titles(radio_silent="true") == []
    assert titles(value_min="600", value_max="1000") == ["Won"]
    assert titles(close_after="2026-02-01", close_before="2026-04-01") == ["Big"]
    assert titles(contact=ada.pk) == ["Also Ada", "Small"]
    assert titles(account=account.pk) == ["Big"]
    assert titles(q="initech") == ["Big"]
    assert big.pk and also.pk
    assert sorted(row["title"] for row in bearer_client(personas.rep_alice).get(
        reverse(DEALS), {"owner": "me"}).json()["results"]) == ["Big"]


@pytest.mark.parametrize("params, field", [
    ({"status": "pending"}, "status"), ({"owner": "bob"}, "owner"), ({"stale": "maybe"}, "stale"),
    ({"radio_silent": "sometimes"}, "radio_silent"), ({"value_min": "abc"}, "value_min"),
    ({"value_min": "NaN"}, "value_min"), ({"value_min": "10", "value_max": "5"}, "value_max"),
    ({"close_after": "2026-13-45"}, "close_after"), ({"close_before": "soon"}, "close_before"),
    ({"pipeline": "x"}, "pipeline"), ({"pipeline": str(HUGE)}, "pipeline"), ({"stage": "1.5"}, "stage"),
    ({"contact": str(HUGE)}, "contact"), ({"account": "-1"}, "account"), ({"page_size": "x"}, None),
    ({"cursor": "eyJrIjpbXX0"}, "cursor"),
])
def test_filter_values_that_are_not_valid_are_400s_naming_the_filter(personas, sales, params, field):
    DealFactory()
    response = bearer_client(personas.admin, scope=ApiKey.Scope.READ).get(reverse(DEALS), params)

    if field is None:  # DRF ignores a page size it cannot read
        assert response.status_code == 200
    else:
        assert_error(response, 400, "invalid", fields=(field,))


def test_an_owner_id_past_the_range_finds_nothing_rather_than_failing(personas, sales):
    DealFactory()
    response = bearer_client(personas.admin).get(reverse(DEALS), {"owner": str(HUGE)})

    assert (response.status_code, response.json()["results"]) == (200, [])


# --- Deals: moves ---------------------------------------------------------------------------------

def test_a_move_changes_stage_and_place_records_the_stay_and_answers_the_deal(personas, sales):
    pipeline, s = sales
    a, b = (deal_create(title=t, pipeline=pipeline, stage=s["Proposal"]) for t in "AB")
    deal = deal_create(title="M", pipeline=pipeline, contact=ContactFactory())

    response = bearer_client(personas.rep_alice).post(deal_url(deal, "move"),
                                                      {"stage": s["Proposal"].pk, "position": 1}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["stage"]["name"] == "Proposal"
    assert column(s["Proposal"]) == ["A", "M", "B"]
    keys = dict(Deal.objects.values_list("title", "position"))
    assert keys["A"] < response.json()["position"] == keys["M"] < keys["B"]
    stays = list(DealStageHistory.objects.filter(deal=deal).values_list("stage__name", "moved_by", "exited_at"))
    assert [(name, by) for name, by, _ in stays] == [("Contact", None), ("Proposal", personas.rep_alice.pk)]
    assert stays[0][2] is not None and stays[1][2] is None
    assert deal.contact.events.filter(type="deal_moved", properties__direction="forward").exists()
    assert a.pk and b.pk


def test_a_move_without_a_position_puts_the_deal_last_in_the_column(personas, sales):
    pipeline, s = sales
    for title in "AB":
        deal_create(title=title, pipeline=pipeline, stage=s["Meeting"])
    first = deal_create(title="C", pipeline=pipeline, stage=s["Meeting"])
    deal_move(deal=first, stage=s["Meeting"], position=0)
    client = bearer_client(personas.admin)

    client.post(deal_url(deal_create(title="New", pipeline=pipeline), "move"), {"stage": s["Meeting"].pk},
                format="json")
    within = client.post(deal_url(first, "move"), {"stage": s["Meeting"].pk}, format="json")

    assert within.status_code == 200, within.content
    assert column(s["Meeting"]) == ["A", "B", "New", "C"]


@pytest.mark.parametrize("case, field", [
    ("another pipeline", "stage"), ("past the end", "position"), ("negative", "position"),
    ("no stage", "stage"), ("unknown stage", "stage"), ("huge stage", "stage"), ("text position", "position"),
    ("closed deal", "status"), ("extra key", "owner"),
])
def test_bad_moves_are_400s_with_the_field_and_move_nothing(personas, sales, case, field):
    pipeline, s = sales
    deal = deal_create(title="D", pipeline=pipeline)
    deal_create(title="E", pipeline=pipeline, stage=s["Meeting"])
    if case == "closed deal":
        deal_won(deal=deal)
    body = {
        "another pipeline": {"stage": pipeline_create(name="Other").stages.first().pk},
        "past the end": {"stage": s["Meeting"].pk, "position": 2},
        "negative": {"stage": s["Meeting"].pk, "position": -1},
        "no stage": {"position": 0},
        "unknown stage": {"stage": 999_999},
        "huge stage": {"stage": HUGE},
        "text position": {"stage": s["Meeting"].pk, "position": "top"},
        "closed deal": {"stage": s["Meeting"].pk},
        "extra key": {"stage": s["Meeting"].pk, "owner": 1},
    }[case]

    response = bearer_client(personas.admin).post(deal_url(deal, "move"), body, format="json")

    assert_error(response, 400, "invalid", fields=(field,))
    assert DealStageHistory.objects.filter(deal=deal).count() == 1
    assert Deal.objects.get(pk=deal.pk).stage == s["Contact"]


def test_a_move_retried_with_the_same_idempotency_key_moves_once(personas, sales):
    pipeline, s = sales
    deal = deal_create(title="D", pipeline=pipeline)
    client = bearer_client(personas.admin)
    key = str(uuid.uuid4())

    first = client.post(deal_url(deal, "move"), {"stage": s["Meeting"].pk}, format="json",
                        headers={IDEMPOTENCY_HEADER: key})
    deal_move(deal=deal, stage=s["Closing"], position=0)  # moved on meanwhile, e.g. on the board
    again = client.post(deal_url(deal, "move"), {"stage": s["Meeting"].pk}, format="json",
                        headers={IDEMPOTENCY_HEADER: key})

    assert first.status_code == 200, first.content
    assert (again.status_code, again.json(), again[REPLAYED_HEADER]) == (200, first.json(), "true")
    assert Deal.objects.get(pk=deal.pk).stage == s["Closing"]
    assert DealStageHistory.objects.filter(deal=deal).count() == 3


# --- Deals: won, lost, reopen, history ----------------------------------------------------------

def test_won_closes_the_deal_and_makes_its_contact_a_customer(personas, sales, lifecycle_stages):
    pipeline, s = sales
    contact = ContactFactory()
    deal = deal_create(title="D", pipeline=pipeline, stage=s["Closing"], contact=contact)

    response = bearer_client(personas.rep_alice).post(deal_url(deal, "won"), format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["days_in_stage"]) == ("won", None) and body["closed_at"]
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == lifecycle_stages["Support & Grow"]
    transition = StageTransition.objects.get(contact=contact)
    assert (transition.actor, transition.user) == ("rule", personas.rep_alice)


def test_won_twice_is_a_400_but_a_retry_with_the_same_key_replays_the_first_answer(personas, sales):
    pipeline, _s = sales
    deal = deal_create(title="D", pipeline=pipeline, contact=ContactFactory())
    client = bearer_client(personas.admin)
    key = str(uuid.uuid4())

    first = client.post(deal_url(deal, "won"), format="json", headers={IDEMPOTENCY_HEADER: key})
    again = client.post(deal_url(deal, "won"), format="json", headers={IDEMPOTENCY_HEADER: key})
    fresh = client.post(deal_url(deal, "won"), format="json", headers={IDEMPOTENCY_HEADER: str(uuid.uuid4())})

    assert first.status_code == 200, first.content
    assert (again.status_code, again.json(), again[REPLAYED_HEADER]) == (200, first.json(), "true")
    assert "already won" in assert_error(fresh, 400, "invalid", fields=("status",))["fields"]["status"][0]
    assert deal.contact.events.filter(type="deal_won").count() == 1


@pytest.mark.parametrize("reason", ["Price", "price", "id"])
def test_lost_takes_a_reason_by_name_in_any_case_or_by_id(personas, sales, reason):
    pipeline, _s = sales
    deal = deal_create(title="D", pipeline=pipeline, contact=ContactFactory())
    price = LostReason.objects.get(name="Price")

    response = bearer_client(personas.rep_alice).post(
        deal_url(deal, "lost"), {"reason": price.pk if reason == "id" else reason}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["lost_reason"] == {"id": price.pk, "name": "Price"}
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("lost", price)
    assert deal.contact.events.filter(type="deal_lost", properties__reason="Price").exists()


@pytest.mark.parametrize("body, message", [
    ({}, "Say why"), ({"reason": ""}, "Say why"), ({"reason": None}, "Say why"),
    ({"reason": "Aliens"}, "no lost reason"), ({"reason": HUGE}, "no lost reason"),
    ({"reason": "Retired one"}, "retired"), ({"reason": ["Price"]}, "valid string"),
])
def test_lost_without_a_valid_active_reason_is_a_400_on_reason(personas, sales, body, message):
    pipeline, _s = sales
    LostReasonFactory(name="Retired one", is_active=False)
    deal = deal_create(title="D", pipeline=pipeline)

    response = bearer_client(personas.admin).post(deal_url(deal, "lost"), body, format="json")

    assert message in assert_error(response, 400, "invalid", fields=("reason",))["fields"]["reason"][0]
    assert Deal.objects.get(pk=deal.pk).status == "open"


def test_lost_retried_with_the_same_key_replays(personas, sales):
    deal = deal_create(title="D", pipeline=sales[0])
    client = bearer_client(personas.admin)
    key = str(uuid.uuid4())

    first = client.post(deal_url(deal, "lost"), {"reason": "Timing"}, format="json", headers={IDEMPOTENCY_HEADER: key})
    again = client.post(deal_url(deal, "lost"), {"reason": "Timing"}, format="json", headers={IDEMPOTENCY_HEADER: key})

    assert first.status_code == 200, first.content
    assert (again.status_code, again.json()) == (200, first.json())


def test_reopen_puts_a_closed_deal_back_last_in_a_stage(personas, sales):
    pipeline, s = sales
    deal_create(title="Waiting", pipeline=pipeline, stage=s["Meeting"])
    deal = deal_create(title="D", pipeline=pipeline, stage=s["Closing"])
    deal_lost(deal=deal, reason=LostReason.objects.get(name="Timing"))
    client = bearer_client(personas.rep_alice)

    response = client.post(deal_url(deal, "reopen"), {"stage": s["Meeting"].pk}, format="json")
    again = client.post(deal_url(deal, "reopen"), format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["lost_reason"]) == ("open", None)
    assert column(s["Meeting"]) == ["Waiting", "D"]
    assert_error(again, 400, "invalid", fields=("status",))
    other = pipeline_create(name="Other").stages.first()
    deal_won(deal=deal)
    assert_error(client.post(deal_url(deal, "reopen"), {"stage": other.pk}, format="json"), 400, fields=("stage",))


def test_history_lists_each_stay_with_who_moved_it_and_how_long_it_stayed(personas, sales):
    pipeline, s = sales
    deal = deal_create(title="D", pipeline=pipeline, by=personas.rep_alice)
    deal_move(deal=deal, stage=s["Proposal"], position=0, by=personas.rep_alice)
    deal_move(deal=deal, stage=s["Meeting"], position=0, by=personas.manager)  # backward
    start = timezone.now() - timedelta(days=10)
    stays = list(DealStageHistory.objects.filter(deal=deal).order_by("entered_at"))
    DealStageHistory.objects.filter(pk=stays[0].pk).update(entered_at=start, exited_at=start + timedelta(days=3))
    DealStageHistory.objects.filter(pk=stays[1].pk).update(entered_at=start + timedelta(days=3),
                                                           exited_at=start + timedelta(days=7, hours=12))
    DealStageHistory.objects.filter(pk=stays[2].pk).update(entered_at=start + timedelta(days=7, hours=12))

    response = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ).get(deal_url(deal, "history"))

    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [(r["stage"], r["moved_by"] and r["moved_by"]["username"]) for r in rows] == [
        ({"id": s["Contact"].pk, "name": "Contact"}, "rep_alice"),
        ({"id": s["Proposal"].pk, "name": "Proposal"}, "rep_alice"),
        ({"id": s["Meeting"].pk, "name": "Meeting"}, "manager")]
    assert [r["days"] for r in rows[:2]] == [3.0, 4.5]
    assert rows[2]["exited_at"] is None and 2.49 <= rows[2]["days"] <= 2.51
    assert set(rows[0]) == {"id", "stage", "entered_at", "exited_at", "moved_by", "days"}


def test_history_costs_the_same_queries_for_a_short_or_long_history(personas, sales):
    pipeline, s = sales
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)
    short, long = (deal_create(title=t, pipeline=pipeline) for t in ("short", "long"))
    for index in range(10):
        deal_move(deal=long, stage=s["Meeting"] if index % 2 == 0 else s["Contact"], position=0,
                  by=personas.rep_alice if index % 2 else personas.manager)
    client.get(deal_url(short, "history"))

    with CaptureQueriesContext(connection) as few:
        assert len(client.get(deal_url(short, "history")).json()["results"]) == 1
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(deal_url(long, "history")).json()["results"]) == 11
    assert len(many) == len(few)


# --- The schema ---------------------------------------------------------------------------------

def test_the_schema_has_every_pipelines_endpoint_and_generates_without_warnings(db, tmp_path):
    from rest_framework.test import APIClient

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    paths = APIClient().get("/api/schema/", {"format": "json"}).json()["paths"]
    expected = {
        "/api/v1/pipelines/": {"get", "post"}, "/api/v1/pipelines/{id}/": {"get", "patch", "delete"},
        "/api/v1/lost-reasons/": {"get", "post"}, "/api/v1/lost-reasons/{id}/": {"get", "patch"},
        "/api/v1/deals/": {"get", "post"}, "/api/v1/deals/{id}/": {"get", "patch", "delete"},
        "/api/v1/deals/{id}/move/": {"post"}, "/api/v1/deals/{id}/won/": {"post"},
        "/api/v1/deals/{id}/lost/": {"post"}, "/api/v1/deals/{id}/reopen/": {"post"},
        "/api/v1/deals/{id}/history/": {"get"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    filters = {p["name"] for p in paths["/api/v1/deals/"]["get"]["parameters"]}
    assert {"pipeline", "stage", "owner", "status", "stale", "radio_silent", "value_min", "value_max",
            "close_after", "close_before", "contact", "account", "q", "sort", "cursor"} <= filters
    move = paths["/api/v1/deals/{id}/move/"]["post"]
    assert {"400", "404", "409", "422"} <= set(move["responses"])
    assert IDEMPOTENCY_HEADER in {p["name"] for p in move["parameters"]}


def test_lost_with_a_reason_in_non_ascii_digits_is_a_400_on_reason(personas, sales):
    # "²".isdigit() is true but int("²") fails: once a 500.
    deal = deal_create(title="D", pipeline=sales[0])
    response = bearer_client(personas.admin).post(deal_url(deal, "lost"), {"reason": "\u00b2"}, format="json")
    assert "no lost reason" in assert_error(response, 400, "invalid", fields=("reason",))["fields"]["reason"][0]
    assert Deal.objects.get(pk=deal.pk).status == "open"
