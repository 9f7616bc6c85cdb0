"""`manage.py create_api_key --user alice --name "Zapier" --scope write` prints a new API key.

Only the key goes to stdout, so a script can capture it: KEY=$(./manage.py create_api_key ...).
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from users.models import ApiKey, User
from users.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a user and print it. The key is shown only this once."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username of the key's owner")
        parser.add_argument("--name", required=True, help="what the key is for, e.g. 'Zapier'")
        parser.add_argument("--scope", default=ApiKey.Scope.READ,
                            help="read (GET only, the default) or write (everything the user may do)")

    def handle(self, *args, user: str, name: str, scope: str, **options):
        if scope not in ApiKey.Scope.values:
            raise CommandError(f"Unknown scope {scope!r}; use one of: {', '.join(ApiKey.Scope.values)}.")
        owner = User.objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user named {user!r}.")
        if not owner.is_active:
            raise CommandError(f"User {user!r} is inactive; an inactive user's keys do not work.")
        try:
            api_key, raw_key = api_key_create(user=owner, name=name, scope=scope)
        except ValidationError as exc:
            messages = [f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()]
            raise CommandError("; ".join(messages)) from exc
        self.stderr.write(f"Created {api_key.get_scope_display().lower()} key {api_key.name!r} "
                          f"(prefix {api_key.prefix}) for {owner.username}. Store it now; it is not shown again.")
        self.stdout.write(raw_key)
