"""The contacts API under /api/v1/: contacts (with upserts, tags, timeline and stage), accounts, lists and
subscriptions, tags, custom fields, notes and tasks. Views derive from lifecycle.api.views's base classes;
writes go through contacts' services; contact input through contacts.inputs.ContactInput."""
