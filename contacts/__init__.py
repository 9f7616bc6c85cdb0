"""Contacts: contacts, accounts, tags, the event (touchpoint) store; later custom fields,
lists, consent, notes, tasks, segments, forms, tracking and import/export."""
