"""Lead-capture forms (docs/forms.md): the builder, public pages and embeds, submissions, double opt-in, analytics.

Models live in contacts.models (LeadForm, LeadFormField, LeadFormSubmission, LeadFormDay, OptInRequest).
"""
