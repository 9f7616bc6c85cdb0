"""Messaging: email templates, campaigns, sends, tracking and unsubscribe (to come)."""
