"""Demo users, one per role, in two teams."""

from django.contrib.auth.models import Group

from users.models import Team, User
from users.roles import Role

DEMO_PASSWORD = "lifecycle-demo"
DEMO_ADMIN = "admin"
#: (username, role, full name)
DEMO_USERS = [
    (DEMO_ADMIN, Role.ADMIN, "Ada Admin"),
    ("maria", Role.MANAGER, "Maria Manager"),
    ("mark", Role.MARKETER, "Mark Marketer"),
    ("alice", Role.SALES_REP, "Alice Rep"),
    ("bob", Role.SALES_REP, "Bob Rep"),
]


def seed(*, rng, context: dict) -> str:
    north, _ = Team.objects.get_or_create(name="North")
    south, _ = Team.objects.get_or_create(name="South")
    teams = {"maria": north, "alice": north, "bob": south}
    created = 0
    users = {}
    for username, role, full_name in DEMO_USERS:
        first, last = full_name.split(" ", 1)
        user, was_created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@demo.lifecycle.test",
                      "team": teams.get(username), "is_staff": role is Role.ADMIN,
                      "is_superuser": role is Role.ADMIN},
        )
        if was_created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=role.label))
            created += 1
        users[username] = user
    context["users"] = users
    context["reps"] = [users["alice"], users["bob"], users["maria"]]
    return f"users: {created} created, {len(DEMO_USERS) - created} already there"
