"""Scenarios whose feature is not built yet. Each keeps its place in the table with its goal.

When a feature lands, its issue writes the measurement (figure and same-run baseline) in a
module of its own, lists it in bench.scenarios.scenarios() and deletes the slot here. A slot
whose probe finds the feature already built says so, so a forgotten benchmark shows up.
"""

import importlib
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from bench.scenarios import Context, Goal, Result
from bench.scenarios.ingest import api_exists

__all__ = ["SLOTS", "Slot"]


@dataclass(frozen=True)
class Slot:
    name: str
    title: str
    unit: str
    issue: str  # the issue that builds it: a number, or the name of one not filed yet
    baseline_label: str
    goal: Goal | None = None
    higher_is_better: bool = True
    #: how to tell the feature exists: "url:<path>", "name:<url name>" or "py:<module>:<attribute>"
    probe: str = ""
    notes: str = ""

    def built(self) -> bool:
        kind, _, target = self.probe.partition(":")
        try:
            if kind == "url":
                return api_exists(target)
            if kind == "name":
                reverse(target)
                return True
            if kind == "py":
                module, _, attribute = target.partition(":")
                return hasattr(importlib.import_module(module), attribute)
        except (NoReverseMatch, ImportError):
            return False
        return False

    def run(self, ctx: Context) -> list[Result]:
        issue = f"issue {self.issue}" if self.issue.isdigit() else f"{self.issue} issue"
        status = (f"built: the scenario is to be added by {issue}" if self.probe and self.built()
                  else f"not built yet ({issue})")
        return [Result(name=self.name, title=self.title, unit=self.unit, baseline_label=self.baseline_label,
                       higher_is_better=self.higher_is_better, goal=self.goal, issue=self.issue, status=status,
                       notes=self.notes)]


SLOTS = [
    Slot("segment_count", "Segment count: 3 conditions, one on events", "ms", "segments",
         "the equivalent hand-written SQL", Goal("<=", 1_000, "ms", at_scale="1m"), higher_is_better=False,
         probe="py:contacts.segments:segment_count", notes="and a single-contact check"),
    Slot("score_recompute", "Full score recompute", "s", "scoring", "one hand-written SQL aggregate",
         Goal("<=", 60, "s", at_scale="1m"), higher_is_better=False, probe="py:scoring.services:scores_recompute"),
    Slot("scoring_lag", "Incremental scoring lag at a sustained event rate (p95)", "s", "scoring",
         "the event rate sustained", higher_is_better=False),
    Slot("automation_throughput", "Automation: 1M entries through a 3-step automation", "s", "automations",
         "hand-written SQL claim loop", Goal("<=", 600, "s", at_scale="1m"), higher_is_better=False,
         notes="1 and 2 workers; also steps/s and trigger latency p95"),
    Slot("campaign_send", "Campaign send to an SMTP sink", "messages/s", "messaging", "raw SMTP"),
]
