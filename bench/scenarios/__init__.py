"""Scenarios: each measures one figure next to a baseline taken in the same run, on the same data.

A scenario is a function `(Context) -> list[Result]`. The ones whose feature is not built yet
are slots (bench.scenarios.slots) that report "not built yet (issue N)" with their goal, so the
table always shows everything we have promised. When a feature lands, its issue replaces the
slot with a real measurement in a module of its own and lists it in `SCENARIOS`.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

__all__ = ["Context", "Goal", "Result", "Scenario", "p95", "scenarios"]


def p95(samples: list[float]) -> float:
    """The 95th percentile of timed samples (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Goal:
    """A promise from an issue, e.g. Goal(">=", 20_000, "events/s") or Goal("<", 150, "ms", at_scale="1m")."""

    op: str  # ">=", ">", "<=", "<"
    value: float
    unit: str
    at_scale: str | None = None  # the scale the promise is made for, when it says so

    def met(self, figure: float) -> bool:
        return {">=": figure >= self.value, ">": figure > self.value,
                "<=": figure <= self.value, "<": figure < self.value}[self.op]

    def __str__(self) -> str:
        symbol = {">=": "≥", "<=": "≤"}.get(self.op, self.op)
        return f"{symbol} {self.value:,g} {self.unit}" + (f" at {self.at_scale}" if self.at_scale else "")


@dataclass
class Result:
    """One row of the table."""

    name: str
    title: str
    unit: str
    figure: float | None = None
    baseline: float | None = None
    baseline_label: str = ""
    higher_is_better: bool = True
    goal: Goal | None = None
    issue: str = ""
    status: str = ""
    notes: str = ""
    details: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """figure / baseline: the number we track, because both were measured in the same run."""
        if self.figure is None or not self.baseline:
            return None
        return self.figure / self.baseline

    def finish(self, scale: str) -> "Result":
        """Set the status from the goal, unless the scenario already set one (slot, error)."""
        if self.status:
            return self
        if self.figure is None:
            self.status = "n/a"
        elif self.goal is None:
            self.status = "—"
        else:
            self.status = "pass" if self.goal.met(self.figure) else "MISS"
            if self.goal.at_scale and self.goal.at_scale != scale:
                self.status += "*"
        return self

    def as_dict(self) -> dict:
        data = asdict(self)
        data["goal"] = str(self.goal) if self.goal else None
        data["goal_spec"] = asdict(self.goal) if self.goal else None
        data["ratio"] = self.ratio
        return data


@dataclass
class Context:
    """What every scenario may use: the scale, the data set, options and earlier results."""

    scale: str
    dataset: object  # bench.generate.Dataset
    duration: float = 10.0
    concurrency: int = 20
    results: dict[str, Result] = field(default_factory=dict)
    log: Callable[[str], None] = print


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[Context], list[Result]]
    #: names of the rows it produces, so --only can select a row by its name too
    rows: tuple[str, ...] = ()


def scenarios() -> list[Scenario]:
    """Every scenario, in the order they run (later ones may use earlier results)."""
    from bench.scenarios import api, contact_list, dataset, forms, imports, ingest, pipelines, slots, tracking

    return [
        Scenario("events_ingest", ingest.events_ingest, ("events_ingest",)),
        Scenario("contacts_bulk", ingest.contacts_bulk, ("contacts_bulk", "contacts_bulk_update")),
        Scenario("generator", dataset.generator, ("generator",)),
        Scenario("api_read", api.api_read, ("api_read_rails", "api_read_detail", "api_read_list", "api_read_search")),
        Scenario("contacts_import", imports.contacts_import, ("contacts_import",)),
        Scenario("contacts_list", contact_list.contact_list, ("contacts_list", "contacts_search", "contacts_filtered")),
        Scenario("board_render", pipelines.board_render, ("board_render",)),
        Scenario("deal_move", pipelines.deal_move, ("deal_move",)),
        Scenario("pipeline_metrics", pipelines.pipeline_metrics, ("pipeline_metrics",)),
        Scenario("events_collect", tracking.events_collect, ("events_collect",)),
        Scenario("form_submit", forms.form_submit, ("form_submit",)),
        *(Scenario(slot.name, slot.run, (slot.name,)) for slot in slots.SLOTS),
    ]
