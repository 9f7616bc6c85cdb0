"""The main navigation: one entry per area of the product, in order."""

from dataclasses import dataclass

__all__ = ["NAV", "NavEntry"]


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    icon: str  # a short text glyph; no icon font is needed
    section: str  # the first path segment the entry owns, for the "active" state


NAV = [
    NavEntry("Dashboard", "dashboard", "◧", ""),
    NavEntry("Contacts", "contacts:list", "☺", "contacts"),
    NavEntry("Forms", "leadforms:list", "▦", "forms"),  # lead-capture forms (issue #5)
    NavEntry("Deals", "pipelines:board", "▥", "deals"),
    NavEntry("Automations", "automations:list", "⟳", "automations"),
    NavEntry("Scoring", "scoring:index", "★", "scoring"),
    NavEntry("Email", "messaging:index", "✉", "email"),
    NavEntry("Reports", "lifecycle:reports", "▤", "reports"),
    NavEntry("Settings", "users:settings", "⚙", "settings"),
]
