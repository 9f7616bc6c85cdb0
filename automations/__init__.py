"""Automations: versions, steps, triggers, enrollments and the scheduler (to come)."""
