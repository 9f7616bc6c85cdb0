"""Demo data for a lively first look: `python manage.py seed_demo` (safe to run again)."""

import random

from django.core.management.base import BaseCommand
from django.db import transaction

from contacts import demo as contacts_demo
from lifecycle import demo as lifecycle_demo
from pipelines import demo as pipelines_demo
from users import demo as users_demo

#: Each app seeds its own domain, in dependency order. Later apps append theirs here.
STEPS = [users_demo.seed, contacts_demo.seed, lifecycle_demo.seed, pipelines_demo.seed, contacts_demo.seed_followups]


class Command(BaseCommand):
    help = "Create demo users, contacts, events and deals. Does nothing the second time."

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=300, help="How many demo contacts (default 300).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed, for reproducible data.")

    def handle(self, *args, contacts: int, seed: int, **options):
        rng = random.Random(seed)
        context: dict = {"contacts": contacts}
        with transaction.atomic():
            for step in STEPS:
                summary = step(rng=rng, context=context)
                self.stdout.write(f"  {summary}")
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready. Log in as '{users_demo.DEMO_ADMIN}' with password '{users_demo.DEMO_PASSWORD}' "
            f"(other demo users: {', '.join(u for u, _r, _n in users_demo.DEMO_USERS[1:])}; same password)."))
