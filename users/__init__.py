"""Users: the custom User, teams, roles and API keys."""
