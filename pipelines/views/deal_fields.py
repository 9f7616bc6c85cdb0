"""Inline editing of a deal's fields on its page and side panel, one field at a time.

The contact page's pattern (contacts/views/contact_fields.py): clicking a value (or Enter on it) fetches
its form (GET .../edit/), Enter saves (POST), Escape or Cancel brings the value back (app.js presses the
form's [data-inline-cancel] link). Input is parsed here and saved by pipelines.services.deal_update, which
checks it; a refused value comes back as the form with the message under the field and what was typed
kept: 422 for htmx, the whole page with 400 otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from contacts.models import Account, Contact, CustomField
from contacts.page_selectors import CustomValue
from contacts.views.contact_fields import CUSTOM_INPUTS, CUSTOM_PREFIX, InlineField
from pipelines.models import CURRENCIES, Deal
from pipelines.selectors import deal_owners_for
from pipelines.services import deal_update
from pipelines.views.deal_common import deal_changed, money, page_deal, with_status
from users.permissions import visible_to

__all__ = ["BUILT_IN", "DealField", "deal_field", "deal_field_edit", "inline_fields", "urlpatterns"]

TEMPLATE = "pipelines/_deal_field.html"

#: The built-in fields in page order: (name, label, input, group). "value" edits the value and its currency.
BUILT_IN = [
    ("title", "Title", "text", "details"),
    ("value", "Value", "money", "details"),
    ("owner", "Owner", "select", "details"),
    ("expected_close_date", "Expected close", "date", "details"),
    ("contact", "Primary contact", "email", "details"),
    ("other_contacts", "Other contacts", "emails", "details"),
    ("account", "Account", "text", "details"),
    ("budget", "Budget", "number", "bant"),
    ("authority", "Authority", "text", "bant"),
    ("need", "Need", "textarea", "bant"),
    ("timeline", "Timeline", "text", "bant"),
]
_HELP = {
    "contact": "The contact's email address. Notes and tasks of the deal go on their timeline.",
    "other_contacts": "Email addresses, separated by commas.",
    "account": "The name of an existing account.",
    "budget": "What the buyer can spend, in the deal's currency.",
    "authority": "Who decides, and are we talking to them?",
    "need": "The problem the deal solves.",
    "timeline": "When they need it solved.",
}
_MAX = {"title": 200, "authority": 200, "timeline": 200, "account": 200}


@dataclass
class DealField(InlineField):
    """One field of the deal as the page shows it (see contacts' InlineField); `currency` goes with "value",
    `links` are (label, URL) pairs of our own pages (contacts, the account)."""

    group: str = "details"
    currency: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)


def _built_in(deal: Deal, name: str, label: str, input_: str, group: str, *, with_choices: bool,
              user) -> DealField:
    item = DealField(name=name, label=label, input=input_, group=group, help_text=_HELP.get(name, ""),
                     maxlength=_MAX.get(name))
    if name == "value":
        item.value, item.currency, item.step = str(deal.value), deal.currency, "0.01"
        item.display = money(deal.value, deal.currency)
    elif name == "budget":
        item.value, item.step = ("" if deal.budget is None else str(deal.budget)), "0.01"
        item.display = money(deal.budget, deal.currency) if deal.budget is not None else ""
    elif name == "owner":
        item.value = str(deal.owner_id or "")
        item.display = str(deal.owner) if deal.owner_id else ""
        if with_choices:
            item.choices = [("", "Unassigned")] + [(str(owner.pk), str(owner)) for owner in deal_owners_for(user)]
    elif name == "expected_close_date":
        item.value = deal.expected_close_date.isoformat() if deal.expected_close_date else ""
        item.display = f"{deal.expected_close_date:%-d %b %Y}" if deal.expected_close_date else ""
    elif name in ("contact", "other_contacts"):
        people = ([deal.contact] if deal.contact_id else []) if name == "contact" else sorted(
            deal.other_contacts.all(), key=lambda c: str(c).lower())
        item.value = ", ".join(c.email for c in people)
        item.maxlength = 254 if name == "contact" else None
        item.display = ", ".join(str(c) for c in people)
        # A link only to a contact page the user may open; others on a shared deal are named, not linked.
        openable = _openable_contacts(deal, user)
        item.links = [(str(c), reverse("contacts:detail", args=[c.pk]) if c.pk in openable else "")
                      for c in people]
    elif name == "account":
        item.value = item.display = deal.account.name if deal.account_id else ""
        if deal.account_id:
            item.links = [(deal.account.name, reverse("contacts:account_detail", args=[deal.account_id]))]
    else:
        item.value = item.display = getattr(deal, name) or ""
    return item


def _custom(value: CustomValue) -> DealField:
    definition = value.field
    item = DealField(name=CUSTOM_PREFIX + definition.key, label=definition.label, group="custom",
                     input=CUSTOM_INPUTS.get(definition.type, "text"), display=value.display, link=value.link,
                     help_text=definition.help_text, selected=value.selected)
    item.value = "" if value.value is None else str(value.value).lower() if isinstance(value.value, bool) \
        else str(value.value)
    if definition.type in (CustomField.Type.CHOICE, CustomField.Type.MULTI_CHOICE):
        item.choices = [(str(choice), str(choice)) for choice in definition.choices]
        # A value stored before its option was removed stays selectable, so saving keeps it.
        item.choices += [(v, v) for v in item.selected if v not in {c for c, _ in item.choices}]
    elif definition.type == CustomField.Type.NUMBER:
        item.step = "any"
    elif definition.type == CustomField.Type.MONEY:
        item.step = "0.01"
    elif definition.type == CustomField.Type.TEXT:
        item.maxlength = 2000
    return item


def inline_fields(deal: Deal, user, definitions: list[CustomField] | None = None) -> list[DealField]:
    """Every field of the deal: the built-in ones (details, then BANT), then its custom fields in order."""
    definitions = list(CustomField.objects.for_deals()) if definitions is None else definitions
    built_in = [_built_in(deal, *spec, with_choices=False, user=user) for spec in BUILT_IN]
    values = [CustomValue(field=d, value=(deal.fields or {}).get(d.key)) for d in definitions]
    return built_in + [_custom(value) for value in values]


def _field(deal: Deal, name: str, *, user, with_choices: bool = False) -> DealField:
    """The one field `name` refers to (a built-in name or "fields.<key>"), or 404."""
    for spec in BUILT_IN:
        if spec[0] == name:
            return _built_in(deal, *spec, with_choices=with_choices, user=user)
    if name.startswith(CUSTOM_PREFIX):
        definition = CustomField.objects.for_deals().filter(key=name.removeprefix(CUSTOM_PREFIX)).first()
        if definition is not None:
            return _custom(CustomValue(field=definition, value=(deal.fields or {}).get(definition.key)))
    raise Http404("No such field.")


# --- Reading what was posted -------------------------------------------------------------------------

def _posted(request, item: DealField):
    if item.input == "checkbox":
        return "value" in request.POST
    if item.input == "multiselect":
        return request.POST.getlist("value")
    return request.POST.get("value", "")


def _decimal(text: str, *, required: bool) -> Decimal | None:
    text = text.strip().replace(",", "")
    if not text:
        if required:
            raise ValidationError("Enter an amount, such as 1200 or 1200.50.")
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"“{text}” is not an amount; enter a number such as 1200.50.") from None
    if not number.is_finite():
        raise ValidationError("Enter a finite amount.")
    return number


def _on_deal(deal: Deal):
    return Contact.objects.filter(Q(pk=deal.contact_id) | Q(other_deals=deal))


def _openable_contacts(deal: Deal, user) -> set[int]:
    """Ids of the deal's contacts whose pages `user` may open: one query a page, kept on the deal."""
    key = (user.pk, deal.contact_id, *sorted(c.pk for c in deal.other_contacts.all()))
    if getattr(deal, "_openable_for", None) != key:  # computed again once the deal's contacts change
        deal._openable = set(visible_to(_on_deal(deal), user).values_list("pk", flat=True))
        deal._openable_for = key
    return deal._openable


def _contacts_by_email(request, text: str, deal: Deal) -> list[Contact]:
    """The contacts these emails name: ones the user can see, or ones already on the deal (a rep may keep a
    colleague's contact on a shared deal without being able to open it)."""
    emails = [part.strip().lower() for part in re.split(r"[,;\s]+", text) if part.strip()]
    found = {c.email: c for c in (visible_to(Contact.objects.filter(email__in=emails), request.user)
                                  | Contact.objects.filter(email__in=emails, pk__in=_on_deal(deal).values("pk")))}
    missing = [email for email in dict.fromkeys(emails) if email not in found]
    if missing:
        raise ValidationError(f"No contact you can see has the email {', '.join(missing)}. "
                              f"Add them under Contacts first.")
    return [found[email] for email in dict.fromkeys(emails)]


def _changes(request, item: DealField, deal: Deal) -> dict:
    """deal_update's keyword arguments for the posted value; ValidationError with a person's message."""
    raw = _posted(request, item)
    name = item.name
    if any("\x00" in text for text in (raw if isinstance(raw, list) else [raw, request.POST.get("currency", "")])
           if isinstance(text, str)):
        raise ValidationError("Remove the NUL character (\\u0000): it cannot be saved.")
    if item.name.startswith(CUSTOM_PREFIX):
        return {"fields": {name.removeprefix(CUSTOM_PREFIX): raw}}
    if name == "value":
        currency = request.POST.get("currency", "").strip().upper()
        item.currency = currency
        return {"value": _decimal(raw, required=True), "currency": currency}
    if name == "budget":
        return {"budget": _decimal(raw, required=False)}
    if name == "owner":
        if not raw:
            return {"owner": None}
        owner = deal_owners_for(request.user).filter(pk=raw).first() if raw.isascii() and raw.isdigit() else None
        if owner is None:
            raise ValidationError("Choose someone from the list: you may give a deal only to people whose deals "
                                  "you can see.")
        return {"owner": owner}
    if name == "expected_close_date":
        if not raw.strip():
            return {"expected_close_date": None}
        try:
            return {"expected_close_date": date.fromisoformat(raw.strip())}
        except ValueError:
            raise ValidationError(f"“{raw}” is not a date; use YYYY-MM-DD.") from None
    if name == "contact":
        return {"contact": _contacts_by_email(request, raw, deal)[0] if raw.strip() else None}
    if name == "other_contacts":
        return {"other_contacts": _contacts_by_email(request, raw, deal)}
    if name == "account":
        text = raw.strip()
        if not text:
            return {"account": None}
        labelled = re.fullmatch(r"(.*?)\s*·\s*#(\d+)", text)  # "Acme · #12", as the account pickers show them
        accounts = visible_to(Account.objects.all(), request.user)
        accounts = list(accounts.filter(pk=labelled[2]) if labelled else accounts.filter(name__iexact=text)[:2])
        if not accounts:
            raise ValidationError(f"No account is called “{text}”. Add it under Accounts first.")
        if len(accounts) > 1:
            raise ValidationError(f"Several accounts are called “{text}”; link the deal from the right account's "
                                  f"page.")
        return {"account": accounts[0]}
    return {name: raw}


def _save(request, deal: Deal, item: DealField) -> list[str]:
    """Parse and save the posted value; the messages for the field if it was refused."""
    try:
        deal_update(deal=deal, by=request.user, **_changes(request, item, deal))
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            return list(error.messages)
        key = item.name.removeprefix(CUSTOM_PREFIX)
        # The field's own messages first; any other (a rule across fields) after, so nothing is hidden.
        mine = {"value": ("value", "currency"), "fields": ()}.get(item.name, (item.name,))
        messages = [m for name in mine for m in error.message_dict.get(name, [])]
        messages += [m.removeprefix(f"{key}: ") for name, ms in error.message_dict.items() if name not in mine
                     for m in ms]
        return messages
    return []


def _render(request, deal: Deal, item: DealField, *, editing: bool, errors=(), submitted=None, status: int = 200,
            focus: bool = False):
    if submitted is not None:  # keep what the person typed, so they can fix it
        if isinstance(submitted, list):
            item.selected = submitted
        elif isinstance(submitted, bool):
            item.value = "true" if submitted else "false"
        else:
            item.value = submitted
    if not request.htmx:
        from pipelines.views.deals import render_page

        return render_page(request, deal, editing=item if editing else None, field_errors=list(errors),
                           status=status)
    return render(request, TEMPLATE, {"deal": deal, "f": item, "editing": editing, "errors": list(errors),
                                      "focus": focus, "currencies": sorted(CURRENCIES)}, status=status)


@login_required
@require_GET
def deal_field(request, pk: int, name: str):
    """A field's value as the page shows it: what Cancel and Escape bring back."""
    deal = page_deal(request, pk)
    if not request.htmx:
        return redirect(reverse("pipelines:deal_detail", args=[pk]) + "#details")
    return _render(request, deal, _field(deal, name, user=request.user), editing=False, focus=True)


@login_required
@require_http_methods(["GET", "POST"])
def deal_field_edit(request, pk: int, name: str):
    deal = page_deal(request, pk, perm="pipelines.change_deal")
    item = _field(deal, name, with_choices=True, user=request.user)
    if request.method == "GET":
        return _render(request, deal, item, editing=True)
    errors = _save(request, deal, item)
    if errors:
        return _render(request, deal, item, editing=True, errors=errors, submitted=_posted(request, item),
                       status=with_status(request, False))
    if not request.htmx:
        return redirect(reverse("pipelines:deal_detail", args=[pk]) + "#details")
    deal = page_deal(request, pk)
    response = _render(request, deal, _field(deal, name, user=request.user), editing=False, focus=True)
    from pipelines.views.deals import header_context

    # The header repeats the title, value and owner: it follows out of band.
    response.content += render(request, "pipelines/_deal_header.html",
                               {**header_context(request, deal), "oob": True}).content
    return deal_changed(response, deal)


urlpatterns = [
    path("<int:pk>/fields/<str:name>/", deal_field, name="deal_field"),
    path("<int:pk>/fields/<str:name>/edit/", deal_field_edit, name="deal_field_edit"),
]
