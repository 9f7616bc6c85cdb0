"""Writes of the form builder: create, update, delete a form and set its fields (docs/forms.md)."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction

from contacts.models import CustomField, LeadForm, LeadFormField
from contacts.tracking import DOMAIN_PATTERN, domain_allowed, domain_lines, origin_host

__all__ = ["BUILTIN_TARGETS", "available_targets", "leadform_create", "leadform_delete",
           "leadform_fields_set", "leadform_update"]

BUILTIN_TARGETS = {"email": "Email", "first_name": "First name", "last_name": "Last name", "phone": "Phone",
                   "title": "Job title"}
_SETTINGS = ("name", "lead_magnet", "is_active", "title", "intro", "submit_text", "consent_text",
             "success_message", "redirect_url", "allowed_domains", "lifecycle_stage", "pipeline", "deal_owner",
             "min_fill_seconds", "rate_per_ip", "rate_per_form", "reject_links", "blocked_email_domains")
DEFAULT_FIELDS = [{"target": "email", "label": "Email", "required": True},
                  {"target": "first_name", "label": "First name", "required": False}]


def available_targets() -> dict[str, str]:
    """Targets a field may map to: the built-in contact fields, then the custom contact fields."""
    targets = dict(BUILTIN_TARGETS)
    for key, label in CustomField.objects.for_contacts().values_list("key", "label"):
        targets[f"fields.{key}"] = label
    return targets


def _clean_settings(form: LeadForm) -> None:
    errors: dict[str, list[str]] = {}
    for field in _SETTINGS:
        if "\x00" in str(getattr(form, field, "") or ""):
            errors.setdefault(field, []).append("Null characters are not allowed.")
    if not (form.name or "").strip():
        errors.setdefault("name", []).append("Give the form a name.")
    for field in ("allowed_domains", "blocked_email_domains"):
        bad = [line for line in domain_lines(getattr(form, field)) if not DOMAIN_PATTERN.fullmatch(line)]
        if bad:
            errors.setdefault(field, []).append(f"Not a domain: {', '.join(bad[:5])[:200]}")
    if form.redirect_url:
        host = origin_host(form.redirect_url)
        if host is None:
            errors.setdefault("redirect_url", []).append("Use an http:// or https:// address.")
        elif not domain_allowed(host, domain_lines(form.allowed_domains)):
            errors.setdefault("redirect_url", []).append("Its domain must be one of the allowed domains.")
    try:
        form.full_clean(exclude=["public_key"])
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _apply(form: LeadForm, values: dict) -> tuple:
    tags = values.pop("tags", None)
    lists = values.pop("lists", None)
    unknown = set(values) - set(_SETTINGS)
    if unknown:
        raise TypeError(f"Unknown form settings: {sorted(unknown)}")
    for key, value in values.items():
        setattr(form, key, value)
    return tags, lists


def _set_relations(form: LeadForm, tags, lists) -> None:
    if tags is not None:
        from contacts.models import Tag
        objs = []
        for name in tags:
            name = (name or "").strip()[:100]
            if name:
                objs.append(Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name))
        form.tags.set(objs)
    if lists is not None:
        form.lists.set(lists)


@transaction.atomic
def leadform_create(*, created_by=None, fields: list[dict] | None = None, **values) -> LeadForm:
    """A new form with sensible defaults (Email required, First name; "Download") unless given."""
    form = LeadForm(public_key=secrets.token_urlsafe(24), created_by=created_by, submit_text="Download")
    tags, lists = _apply(form, values)
    _clean_settings(form)
    form.save()
    _set_relations(form, tags, lists)
    leadform_fields_set(form=form, rows=fields if fields is not None else DEFAULT_FIELDS)
    return form


@transaction.atomic
def leadform_update(*, form: LeadForm, **values) -> LeadForm:
    tags, lists = _apply(form, values)
    _clean_settings(form)
    form.save()
    _set_relations(form, tags, lists)
    return form


def leadform_delete(*, form: LeadForm) -> None:
    form.delete()


@transaction.atomic
def leadform_fields_set(*, form: LeadForm, rows: list[dict]) -> list[LeadFormField]:
    """Replace the form's fields by `rows` (in order): targets valid and unique, exactly one required email."""
    targets = available_targets()
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    objs = []
    for index, row in enumerate(rows):
        target = str(row.get("target") or "")
        label = str(row.get("label") or "").strip()
        if target not in targets:
            errors.setdefault("fields", []).append(f"Field {index + 1}: choose what it fills in.")
        elif target in seen:
            errors.setdefault("fields", []).append(f"Field {index + 1}: “{targets[target]}” is already on the form.")
        seen.add(target)
        if not label:
            errors.setdefault("fields", []).append(f"Field {index + 1}: give it a label.")
        obj = LeadFormField(form=form, target=target, label=label, help_text=str(row.get("help_text") or ""),
                            placeholder=str(row.get("placeholder") or ""), required=bool(row.get("required")),
                            position=index)
        if any("\x00" in value for value in (obj.label, obj.help_text, obj.placeholder)):
            errors.setdefault("fields", []).append(f"Field {index + 1}: null characters are not allowed.")
        if target == "email" and not obj.required:
            errors.setdefault("fields", []).append("The email field must be required.")
        try:
            obj.full_clean(exclude=["form"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault("fields", []).extend(f"Field {index + 1} {key}: {m}" for m in messages)
        objs.append(obj)
    if "email" not in seen:
        errors.setdefault("fields", []).append("The form needs an email field.")
    if errors:
        raise ValidationError(errors)
    form.fields.all().delete()
    return LeadFormField.objects.bulk_create(objs)
