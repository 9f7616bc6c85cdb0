"""Inline editing of a contact's fields, built-in and custom, one field at a time.

Clicking a field's value (or pressing Enter on it) fetches its edit form (GET .../edit/); saving
posts it back. Input is checked by contacts.inputs.ContactInput, the one checker every front end
uses, and saved by contacts.services.contact_update. A bad value comes back as the form with the
message under the field: 422 for htmx (static/js/contact-page.js swaps it in), 400 otherwise. Every
view also works as a plain page without JavaScript.
"""

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from contacts.inputs import TEXT_FIELDS, ContactInput
from contacts.models import Contact, CustomField
from contacts.page_selectors import CustomValue, assignable_users, contact_custom_values
from contacts.services import contact_update
from contacts.views.page_common import contact_changed, error_messages, page_contact, with_status

__all__ = ["CUSTOM_PREFIX", "InlineField", "field_edit", "field_show", "inline_fields", "urlpatterns"]

CUSTOM_PREFIX = "fields."
TEMPLATE = "contacts/_page_field.html"

# The built-in fields in page order: (name, label, input type). `name` is the ContactInput key.
BUILT_IN = [
    ("first_name", "First name", "text"),
    ("last_name", "Last name", "text"),
    ("email", "Email", "email"),
    ("phone", "Phone", "tel"),
    ("title", "Job title", "text"),
    ("company", "Company", "text"),
    ("owner", "Owner", "select"),
    ("lead_status", "Lead status", "select"),
    ("source", "Source", "select"),
    ("source_detail", "Lead magnet", "text"),
]
# Custom field type -> input type.
CUSTOM_INPUTS = {
    CustomField.Type.TEXT: "text", CustomField.Type.NUMBER: "number", CustomField.Type.MONEY: "number",
    CustomField.Type.DATE: "date", CustomField.Type.BOOLEAN: "checkbox", CustomField.Type.CHOICE: "select",
    CustomField.Type.MULTI_CHOICE: "multiselect", CustomField.Type.URL: "url",
}


@dataclass
class InlineField:
    """One field as the page shows it: its label, its value as text, and how to edit it."""

    name: str
    label: str
    input: str
    #: The value as the input holds it (a string; for a multi-select, see `selected`).
    value: str = ""
    display: str = ""
    selected: list[str] = field(default_factory=list)
    choices: list[tuple[str, str]] = field(default_factory=list)
    #: An http(s) link to show the value as.
    link: str = ""
    help_text: str = ""
    maxlength: int | None = None
    step: str = ""
    #: Shown as its form (set on the full page for editing without JavaScript).
    editing: bool = False

    @property
    def slug(self) -> str:
        """For element ids: "fields.region" -> "fields-region" (keys are slugs, so this stays unique)."""
        return self.name.replace(".", "-")

    @property
    def is_custom(self) -> bool:
        return self.name.startswith(CUSTOM_PREFIX)


def _built_in(contact: Contact, name: str, label: str, input_: str, *, with_choices: bool) -> InlineField:
    item = InlineField(name=name, label=label, input=input_, maxlength=TEXT_FIELDS.get(name))
    if name == "company":
        item.value = item.display = contact.account.name if contact.account_id else ""
        item.maxlength = 200
        item.help_text = "An account with this name is linked, or created when there is none."
    elif name == "owner":
        item.value = str(contact.owner_id or "")
        item.display = str(contact.owner) if contact.owner_id else ""
        if with_choices:
            item.choices = [("", "Unassigned")] + [(str(user.pk), str(user)) for user in assignable_users()]
    elif name in ("lead_status", "source"):
        choices = Contact.LeadStatus if name == "lead_status" else Contact.Source
        item.value = getattr(contact, name)
        item.display = choices(item.value).label if item.value in choices.values else item.value
        item.choices = list(choices.choices)
    else:
        item.value = item.display = getattr(contact, name) or ""
        if name == "email":
            item.maxlength = 254
    return item


def _custom(value: CustomValue) -> InlineField:
    definition = value.field
    item = InlineField(name=CUSTOM_PREFIX + definition.key, label=definition.label,
                       input=CUSTOM_INPUTS.get(definition.type, "text"), display=value.display, link=value.link,
                       help_text=definition.help_text, selected=value.selected)
    item.value = "" if value.value is None else str(value.value).lower() if isinstance(value.value, bool) \
        else str(value.value)
    if definition.type in (CustomField.Type.CHOICE, CustomField.Type.MULTI_CHOICE):
        item.choices = [(str(choice), str(choice)) for choice in definition.choices]
        # A value stored before its option was removed stays selectable, so saving keeps it visible.
        item.choices += [(v, v) for v in item.selected if v not in {c for c, _ in item.choices}]
    elif definition.type == CustomField.Type.NUMBER:
        item.step = "any"
    elif definition.type == CustomField.Type.MONEY:
        item.step = "0.01"
    elif definition.type == CustomField.Type.TEXT:
        item.maxlength = 2000
    return item


def inline_fields(contact: Contact, definitions: list[CustomField] | None = None) -> list[InlineField]:
    """Every field of the contact, built-in first, then the custom fields in their order."""
    built_in = [_built_in(contact, name, label, input_, with_choices=False) for name, label, input_ in BUILT_IN]
    return built_in + [_custom(value) for value in contact_custom_values(contact, definitions)]


def _field(contact: Contact, name: str, *, with_choices: bool = False) -> InlineField:
    """The one field `name` refers to (a built-in name or "fields.<key>"), or 404."""
    for built_in, label, input_ in BUILT_IN:
        if built_in == name:
            return _built_in(contact, name, label, input_, with_choices=with_choices)
    if name.startswith(CUSTOM_PREFIX):
        definition = CustomField.objects.for_contacts().filter(key=name.removeprefix(CUSTOM_PREFIX)).first()
        if definition is not None:
            return _custom(contact_custom_values(contact, [definition])[0])
    raise Http404("No such field.")


def _posted_value(request, item: InlineField):
    if item.input == "checkbox":
        return "value" in request.POST
    if item.input == "multiselect":
        return request.POST.getlist("value")
    return request.POST.get("value", "")


def _save(request, contact: Contact, item: InlineField) -> list[str]:
    """Check and save the posted value; the error messages for the field if it was refused."""
    value = _posted_value(request, item)
    key = item.name.removeprefix(CUSTOM_PREFIX)
    cleaned, errors = ContactInput().clean({"fields": {key: value}} if item.is_custom else {item.name: value},
                                           partial=True)
    if not errors:
        try:
            contact_update(contact=contact, user=request.user, actor="user", **cleaned)
        except ValidationError as error:
            errors = error_messages(error)
    messages = [message for messages in errors.values() for message in messages]
    # ContactInput names the custom field in its messages ("region: …"); here it sits under its label.
    return [message.removeprefix(f"{key}: ") for message in messages]


def _render(request, contact: Contact, item: InlineField, *, editing: bool, errors=(), submitted=None,
            status: int = 200, focus: bool = False):
    context = {"contact": contact, "f": item, "editing": editing, "errors": list(errors), "focus": focus,
               "can_edit": request.user.has_perm("contacts.change_contact")}
    if submitted is not None:  # keep what the person typed, so they can fix it
        if isinstance(submitted, list):
            item.selected = submitted
        elif isinstance(submitted, bool):
            item.value = "true" if submitted else "false"
        else:
            item.value = submitted
    if not request.htmx:
        from contacts.views.contact_page import render_page

        return render_page(request, contact, editing=item if editing else None, field_errors=list(errors),
                           status=status)
    return render(request, TEMPLATE, context, status=status)


@login_required
@require_GET
def field_show(request, pk: int, name: str):
    """A field's value as the page shows it: what Cancel and Escape bring back."""
    contact = page_contact(request, pk)
    if not request.htmx:
        return redirect(reverse("contacts:detail", args=[pk]) + "#fields")
    return _render(request, contact, _field(contact, name), editing=False, focus=True)


@login_required
@require_http_methods(["GET", "POST"])
def field_edit(request, pk: int, name: str):
    contact = page_contact(request, pk, perm="contacts.change_contact")
    item = _field(contact, name, with_choices=True)
    if request.method == "GET":
        return _render(request, contact, item, editing=True)
    errors = _save(request, contact, item)
    if errors:
        return _render(request, contact, item, editing=True, errors=errors, submitted=_posted_value(request, item),
                       status=with_status(request, False))
    if not request.htmx:
        return redirect(reverse("contacts:detail", args=[pk]) + "#fields")
    contact = page_contact(request, pk)
    response = _render(request, contact, _field(contact, name), editing=False, focus=True)
    response.content += render(request, "contacts/_page_summary.html", {"contact": contact, "oob": True}).content
    return contact_changed(response)


urlpatterns = [
    path("<int:pk>/fields/<str:name>/", field_show, name="contact_field"),
    path("<int:pk>/fields/<str:name>/edit/", field_edit, name="contact_field_edit"),
]
