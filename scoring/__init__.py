"""Scoring: score models, rules, the points ledger and score values (to come)."""
