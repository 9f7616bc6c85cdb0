"""The contact list (/contacts/): search, filters, sortable columns, keyset pages, bulk actions, CSV export;
and the "Add a contact" form.

The filters are query parameters of contacts.filters.ContactFilterSet, the API's too, so a filtered list
is a URL to share. htmx requests get the results fragment (`contact_list.html#results`); without
JavaScript every control is a plain link or form. The bulk bar and the export carry the filter along,
so "all matching" means exactly what the list shows, limited to the rows the user may see.
"""

import json
from collections.abc import Iterable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts import actions
from contacts.csvutil import csv_stream
from contacts.filters import RANGE_TYPES, SORTS, ContactFilterSet
from contacts.inputs import ContactInput
from contacts.models import Contact, ContactList, CustomField, Subscription, Tag
from contacts.selectors import (
    DEFAULT_SORT,
    contact_page,
    contacts_count,
    contacts_count_exact,
    contacts_filter,
    contacts_for_list,
)
from contacts.services import contact_create
from users.models import User

__all__ = ["contact_bulk", "contact_bulk_job", "contact_count", "contact_create_view", "contact_export",
           "contact_list", "urlpatterns"]

TEMPLATE = "contacts/contact_list.html"
#: Deleting more contacts than this asks to type their number.
TYPED_CONFIRMATION_OVER = 100
#: Columns that sort, as (label, ascending key of contacts.filters.SORTS, the first click's direction).
SORTABLE = {"name": ("Name", "name", "name"), "email": ("Email", "email", "email"),
            "created": ("Created", "created", "-created"), "last_activity": ("Last activity", "last_activity",
                                                                              "-last_activity")}
#: The "Add filter" row's operators: value -> (label, filter suffix, types it applies to).
FIELD_OPERATORS = {
    "": ("is", "", None),
    "gt": ("is more than", "__gt", "range"), "gte": ("is at least", "__gte", "range"),
    "lt": ("is less than", "__lt", "range"), "lte": ("is at most", "__lte", "range"),
    "isnull": ("is empty", "__isnull", None), "notnull": ("is set", "__isnull", None),
}


def _url(name: str, *args) -> str:
    """A URL of another part of the app that may not be wired yet ("" if not)."""
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return ""


# --- Reading the filter from a query ------------------------------------------------------------------

def _filter_data(query: QueryDict) -> tuple[QueryDict, dict[str, str]]:
    """The filter parameters of a request, without empty values; the "Add filter" row (cf_key, cf_op,
    cf_value) becomes field.<key>[__op]=value. Returns (data, errors of the row)."""
    data, errors = QueryDict(mutable=True), {}
    for key in query:
        if key in ContactFilterSet.base_filters or key.startswith("field."):
            values = [value.strip() for value in query.getlist(key) if value.strip()]
            if key == "tag":
                values = list({value.lower(): value for value in values}.values())
            if values:
                data.setlist(key, values if key == "tag" else values[-1:])
    if "list" not in data or data.get("list_status") == Subscription.Status.SUBSCRIBED:
        data.pop("list_status", None)  # it only qualifies a list, and "subscribed" is what a list means
    key, op, value = (query.get(name, "").strip() for name in ("cf_key", "cf_op", "cf_value"))
    if key:
        if op not in FIELD_OPERATORS:
            errors["cf_op"] = "Choose how to compare."
        elif op in ("isnull", "notnull"):
            data[f"field.{key}__isnull"] = "true" if op == "isnull" else "false"
        elif not value:
            errors["cf_value"] = "Enter a value to filter by."
        else:
            data[f"field.{key}{FIELD_OPERATORS[op][1]}"] = value
    return data, errors


def _sort(query: QueryDict) -> str:
    sort = query.get("sort", "")
    return sort if sort in SORTS else DEFAULT_SORT


def _querystring(data: QueryDict, *, sort: str = DEFAULT_SORT, cursor: str | None = None, **extra) -> str:
    query = data.copy()
    if sort != DEFAULT_SORT:
        query["sort"] = sort
    if cursor:
        query["cursor"] = cursor
    for key, value in extra.items():
        query[key] = value
    return query.urlencode()


def _list_url(data: QueryDict, **kwargs) -> str:
    query = _querystring(data, **kwargs)
    return reverse("contacts:list") + (f"?{query}" if query else "")


# --- What the page shows -------------------------------------------------------------------------------

def _chips(data: QueryDict, *, sort: str, options: dict) -> list[dict]:
    """The active filters as removable chips: a label and the list's URL without that filter."""
    lists, stages, owners = (dict(options[name]) for name in ("lists", "stages", "owners"))
    fields = {field.key: field for field in options["fields"]}
    statuses, sources = dict(Contact.LeadStatus.choices), dict(Contact.Source.choices)
    op_labels = {suffix: label for label, suffix, _types in FIELD_OPERATORS.values() if suffix != "__isnull"}
    chips = []

    def without(key: str, value: str | None = None, *also: str) -> str:
        rest = data.copy()
        if value is None or key != "tag":
            rest.pop(key, None)
        else:
            rest.setlist(key, [v for v in rest.getlist(key) if v != value])
        for other in also:
            rest.pop(other, None)
        return _list_url(rest, sort=sort)

    for key in data:
        value = data.get(key)
        if key == "q":
            chips.append({"label": f"Search: {value}", "url": without(key)})
        elif key == "tag":
            chips += [{"label": f"Tag: {tag}", "url": without(key, tag)} for tag in data.getlist(key)]
        elif key == "list":
            status = data.get("list_status") or Subscription.Status.SUBSCRIBED
            chips.append({"label": f"List: {lists.get(value, value)} ({status})",
                          "url": without(key, None, "list_status")})
        elif key == "stage":
            label = "no stage" if value.lower() == "none" else stages.get(value, value)
            chips.append({"label": f"Stage: {label}", "url": without(key)})
        elif key == "owner":
            label = {"me": "me", "none": "nobody"}.get(value.lower(), owners.get(value, value))
            chips.append({"label": f"Owner: {label}", "url": without(key)})
        elif key == "status":
            chips.append({"label": f"Lead status: {statuses.get(value, value)}", "url": without(key)})
        elif key == "source":
            chips.append({"label": f"Source: {sources.get(value, value)}", "url": without(key)})
        elif key == "account":
            chips.append({"label": f"Account #{value}", "url": without(key)})
        elif key == "created_after":
            chips.append({"label": f"Created from {value}", "url": without(key)})
        elif key == "created_before":
            chips.append({"label": f"Created before {value}", "url": without(key)})
        elif key.startswith("field."):
            name, _, lookup = key[len("field."):].partition("__")
            label = fields[name].label if name in fields else name
            if lookup == "isnull":
                text = f"{label} is empty" if value.lower() in ("true", "1") else f"{label} is set"
            else:
                text = f"{label} {op_labels.get(f'__{lookup}' if lookup else '', lookup)} {value}"
            chips.append({"label": text, "url": without(key)})
    return chips


def _options() -> dict:
    """What the filter controls and the bulk bar offer: (value, label) pairs, the tag names as ready HTML
    (a workspace has hundreds of tags; a template loop over them costs more than the rest of the page)."""
    from lifecycle.models import LifecycleStage

    tags = Tag.objects.values_list("name", flat=True)
    return {
        "tags_html": format_html_join("", '<option value="{}">', ((name,) for name in tags)),
        "lists": [(str(pk), name) for pk, name in ContactList.objects.values_list("pk", "name")],
        "stages": [(str(stage.pk), stage.name)
                   for stage in LifecycleStage.objects.filter(stage_set__is_active=True).order_by("position")],
        "owners": [(str(user.pk), user.get_full_name() or user.username)
                   for user in User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")],
        "fields": list(CustomField.objects.for_contacts()),
    }


def _columns(sort: str, data: QueryDict) -> list[dict]:
    """The sortable column headers: the link each leads to and their aria-sort state."""
    columns = []
    for name, (label, ascending, first) in SORTABLE.items():
        active = sort.lstrip("-") == ascending
        descending = sort.startswith("-")
        target = (ascending if descending else f"-{ascending}") if active else first
        columns.append({"name": name, "label": label, "url": _list_url(data, sort=target),
                        "aria_sort": ("descending" if descending else "ascending") if active else "none"})
    return columns


def _list_context(request, data: QueryDict, *, sort: str, cursor: str | None, row_errors: dict | None = None,
                  bulk: dict | None = None, selected: Iterable[int] = ()) -> dict:
    """Everything the list page and its results fragment show for one filter, sort and cursor."""
    filterset = contacts_filter(data, user=request.user)
    valid = filterset.is_valid() and not row_errors
    options = _options()
    context = {
        "title": "Contacts", "data": data, "sort": sort, "options": options, "filterset": filterset,
        "list_url": reverse("contacts:list"),
        "filter_errors": {**{k: " ".join(v) for k, v in filterset.errors.items()}, **(row_errors or {})},
        "querystring": _querystring(data, sort=sort, cursor=cursor), "filter_querystring": data.urlencode(),
        "chips": _chips(data, sort=sort, options=options), "columns": _columns(sort, data),
        "field_operators": FIELD_OPERATORS, "range_types": [t.value for t in RANGE_TYPES],
        "lead_statuses": Contact.LeadStatus.choices, "list_statuses": Subscription.Status.choices,
        "sources": Contact.Source.choices, "actions": actions.ACTIONS,
        "can_change": request.user.has_perm("contacts.change_contact"),
        "can_delete": request.user.has_perm("contacts.delete_contact"),
        "can_add": request.user.has_perm("contacts.add_contact"),
        "import_url": _url("contacts:import_upload"), "bulk": bulk or {},
        "selected": set(selected), "current": data.dict(), "active_tags": data.getlist("tag"),
        "field_items": [(key, data[key]) for key in data if key.startswith("field.")],
        "filter_items": [(key, value) for key in data for value in data.getlist(key)], "cursor": cursor,
    }
    if not valid:
        return {**context, "page": None, "count": None, "any_contacts": True}
    matching = filterset.qs
    try:
        page = contact_page(contacts_for_list(matching), sort=sort, cursor=cursor)
    except ValueError as error:
        messages.warning(request, str(error))
        page = contact_page(contacts_for_list(matching), sort=sort)
    count = contacts_count(matching, page=page)
    # "No contacts at all" (say how to get some) differs from "none match" (say how to widen the filter).
    any_contacts = bool(page.contacts) or bool(data) or filterset.queryset.exists()
    return {
        **context, "page": page, "count": count, "any_contacts": any_contacts,
        "next_url": _list_url(data, sort=sort, cursor=page.next_cursor) if page.next_cursor else "",
        "previous_url": _list_url(data, sort=sort, cursor=page.previous_cursor) if page.previous_cursor else "",
        "first_url": _list_url(data, sort=sort) if not page.first else "",
    }


def _render_list(request, context: dict, *, status: int = 200) -> HttpResponse:
    if request.htmx and request.htmx.target == "contact-results":
        # The filter controls re-render out of band when a chip, the "Add filter" row or a refresh changed the
        # filter; not when one of them asked (X-Filter-Control): they already show their state, and swapping
        # them would take the keyboard focus away from the control in use.
        context["oob_controls"] = request.method == "GET" and request.headers.get("X-Filter-Control") != "1"
        return render(request, f"{TEMPLATE}#results", context, status=status)
    return render(request, TEMPLATE, context, status=status)


def _forbidden(request, message: str) -> HttpResponse:
    return render(request, "contacts/contact_list_forbidden.html", {"title": "Contacts", "message": message},
                  status=403)


@login_required
@require_GET
def contact_list(request):
    if not request.user.has_perm("contacts.view_contact"):
        return _forbidden(request, "Your account has no role that may see contacts. Ask an admin for one.")
    data, row_errors = _filter_data(request.GET)
    sort = _sort(request.GET)
    if "cf_key" in request.GET and not row_errors and not request.htmx:
        # The "Add filter" row without JavaScript: go to the URL it stands for, so it can be shared.
        return redirect(_list_url(data, sort=sort))
    job = actions.bulk_job(request.GET["job"], user=request.user) if request.GET.get("job") else None
    context = _list_context(request, data, sort=sort, cursor=request.GET.get("cursor"), row_errors=row_errors,
                            bulk={"job": job} if job else None)
    status = 200 if context["page"] is not None else (422 if request.htmx else 400)
    response = _render_list(request, context, status=status)
    if request.htmx and "cf_key" in request.GET and not row_errors:
        response["HX-Push-Url"] = _list_url(data, sort=sort)
    return response


@login_required
@require_GET
def contact_count(request):
    """The exact number of matching contacts, on demand (the list itself shows an estimate when it is big)."""
    if not request.user.has_perm("contacts.view_contact"):
        return _forbidden(request, "Your account has no role that may see contacts.")
    data, _errors = _filter_data(request.GET)
    filterset = contacts_filter(data, user=request.user)
    if not filterset.is_valid():
        return HttpResponse("Fix the filter first.", status=400)
    count = contacts_count_exact(filterset.qs)
    return render(request, f"{TEMPLATE}#count", {"count": count, "filter_querystring": data.urlencode()})


# --- Bulk actions ------------------------------------------------------------------------------------

class BulkActionForm(forms.Form):
    """What the bulk bar posts: the action, which contacts (the selected rows or all matching) and its target."""

    action = forms.ChoiceField(label="Action", choices=[
        ("", "Choose an action…"), *((a.name, a.label) for a in actions.ACTIONS.values()), ("export", "Export CSV")])
    scope = forms.ChoiceField(label="Apply to", choices=[("selected", "Selected contacts"), ("all", "All matching")],
                              initial="selected")
    # bulk_*: the bar also carries the list's filter (tag, list, owner, stage...), under the filter's names.
    bulk_tag = forms.CharField(label="Tag", required=False, max_length=100)
    bulk_list = forms.ModelChoiceField(label="List", queryset=ContactList.objects.all(), required=False,
                                       empty_label="Choose a list…")
    bulk_owner = forms.ChoiceField(label="Owner", required=False)
    bulk_stage = forms.ModelChoiceField(label="Stage", queryset=None, required=False, empty_label="Choose a stage…")
    confirm_count = forms.CharField(label="Number of contacts", required=False)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        from lifecycle.models import LifecycleStage

        super().__init__(*args, **kwargs)
        self.fields["bulk_owner"].choices = [("", "Choose an owner…"), ("none", "Nobody (unassigned)")] + [
            (str(user.pk), user.get_full_name() or user.username)
            for user in User.objects.filter(is_active=True).order_by("first_name", "username")]
        self.fields["bulk_stage"].queryset = LifecycleStage.objects.filter(stage_set__is_active=True)
        self.ids = sorted({int(pk) for pk in self.data.getlist("ids") if pk.isdigit()}) if self.data else []

    def clean(self):
        data = super().clean()
        action = data.get("action")
        needs = {"add_tag": "bulk_tag", "remove_tag": "bulk_tag", "add_to_list": "bulk_list",
                 "set_owner": "bulk_owner", "set_stage": "bulk_stage"}.get(action)
        if needs and not data.get(needs):
            self.add_error(needs, {"bulk_tag": "Enter a tag name.", "bulk_list": "Choose a list.",
                                   "bulk_owner": "Choose an owner.", "bulk_stage": "Choose a stage."}[needs])
        if data.get("scope") == "selected" and not self.ids:
            self.add_error("scope", "Select some contacts first, or choose “All matching”.")
        return data

    def params(self) -> tuple[dict, str]:
        """The action's parameters as JSON for a job, and its target's name for messages."""
        data, action = self.cleaned_data, self.cleaned_data["action"]
        if action in ("add_tag", "remove_tag"):
            name = data["bulk_tag"].strip()
            existing = Tag.objects.filter(name__iexact=name).values_list("name", flat=True).first()
            return {"tag": name}, existing or name
        if action == "add_to_list":
            return {"list": data["bulk_list"].pk}, data["bulk_list"].name
        if action == "set_owner":
            if data["bulk_owner"] == "none":
                return {"owner": None}, "nobody"
            owner = User.objects.get(pk=data["bulk_owner"])
            return {"owner": owner.pk}, owner.get_full_name() or owner.username
        if action == "set_stage":
            return {"stage": data["bulk_stage"].pk}, data["bulk_stage"].name
        return {}, ""


def _plural(count: int) -> str:
    return f"{count:,} contact" + ("" if count == 1 else "s")


@login_required
@require_POST
def contact_bulk(request):
    """Run a bulk action; "delete" first asks to confirm (typing the number above TYPED_CONFIRMATION_OVER)."""
    if not request.user.has_perm("contacts.view_contact"):
        return _forbidden(request, "Your account has no role that may see contacts.")
    data, _row_errors = _filter_data(request.POST)
    sort = _sort(request.POST)
    cursor = request.POST.get("cursor") or None
    form = BulkActionForm(request.POST)

    def again(bulk: dict, status: int):
        context = _list_context(request, data, sort=sort, cursor=cursor, bulk={"form": form, **bulk},
                                selected=form.ids)
        return _render_list(request, context, status=status)

    invalid = 422 if request.htmx else 400
    if not form.is_valid():
        return again({}, invalid)
    action, scope = form.cleaned_data["action"], form.cleaned_data["scope"]
    if action == "export":
        query = _querystring(data, sort=sort)
        if scope == "selected":
            query = "&".join(filter(None, [query, *(f"ids={pk}" for pk in form.ids)]))
        url = reverse("contacts:export") + f"?{query}"
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return redirect(url)
    bulk_action = actions.ACTIONS[action]
    if not request.user.has_perm(bulk_action.permission):
        form.add_error("action", f"Your role may not {bulk_action.label.lower()} contacts.")
        return again({}, 403)
    filterset = contacts_filter(data, user=request.user)
    if not filterset.is_valid():
        form.add_error(None, "Fix the filter first.")
        return again({}, invalid)
    contacts = filterset.queryset.filter(pk__in=form.ids) if scope == "selected" else filterset.qs
    count = contacts.order_by()[:actions.INLINE_LIMIT + 1].count()
    if count > actions.INLINE_LIMIT:
        count = contacts_count_exact(contacts).value
    if not count:
        form.add_error("scope", "No contacts to change: none of them match any more.")
        return again({}, invalid)
    if action == "delete" and not form.cleaned_data["confirmed"]:
        return again({"confirm": True, "count": count, "typed": count > TYPED_CONFIRMATION_OVER}, 200)
    if action == "delete" and count > TYPED_CONFIRMATION_OVER:
        typed = form.cleaned_data["confirm_count"].replace(",", "").replace(" ", "")
        if typed != str(count):
            form.add_error("confirm_count", f"Type {count} to delete these {count:,} contacts.")
            return again({"confirm": True, "count": count, "typed": True}, invalid)
    params, target = form.params()
    job = None
    if count <= actions.INLINE_LIMIT:
        try:
            changed = bulk_action.run(contacts, request.user, params)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(f"bulk_{field}" if f"bulk_{field}" in form.fields else None, errors)
            return again({}, invalid)
        if changed or action == "delete":
            messages.success(request, bulk_action.done.format(count=_plural(changed), target=target))
        else:
            messages.info(request, f"Nothing to change: the {_plural(count)} already were as asked.")
    else:
        job = actions.bulk_job_start(action=action, filter_data=data, params=params, target=target, total=count,
                                     user=request.user)
        messages.info(request, f"Working on {_plural(count)}… ({bulk_action.label.lower()})")
    # After a delete the page the cursor pointed into may be gone: start again from the first page.
    cursor = None if action == "delete" else cursor
    if not request.htmx:
        return redirect(_list_url(data, sort=sort, cursor=cursor, **({"job": job["id"]} if job else {})))
    context = _list_context(request, data, sort=sort, cursor=cursor, bulk={"job": job} if job else None)
    return _render_list(request, context)


@login_required
@require_GET
def contact_bulk_job(request, job_id: str):
    """A bulk job's progress, polled by the list while it runs."""
    job = actions.bulk_job(job_id, user=request.user)
    if job is None:
        return HttpResponse("This job is finished or unknown.", status=404)
    response = render(request, "contacts/_bulk_progress.html", {"job": job, "done_message": _job_message(job)})
    if job["state"] in ("done", "failed") and request.htmx:
        # The list refreshes itself; the outcome arrives as a toast (lifecycle.middleware adds the message).
        (messages.success if job["state"] == "done" else messages.error)(request, _job_message(job))
        response["HX-Trigger"] = json.dumps({"contacts-changed": True})
    return response


def _job_message(job: dict) -> str:
    if job["state"] == "failed":
        return f"{job['label']} stopped after {_plural(job['done'])}: {job['error']}"
    if job["state"] != "done":
        return ""
    return actions.ACTIONS[job["action"]].done.format(count=_plural(job["changed"]), target=job["target"])


# --- Export -------------------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    ("email", "email"), ("first_name", "first_name"), ("last_name", "last_name"), ("phone", "phone"),
    ("title", "title"), ("company", lambda c: c.account.name if c.account else ""),
    ("owner", lambda c: (c.owner.email or c.owner.username) if c.owner else ""),
    ("stage", lambda c: c.lifecycle_stage.name if c.lifecycle_stage else ""), ("lead_status", "lead_status"),
    ("source", "source"), ("source_detail", "source_detail"),
    ("tags", lambda c: ", ".join(sorted(tag.name for tag in c.tags.all()))),
    ("created_at", lambda c: c.created_at.isoformat()),
    ("last_activity_at", lambda c: c.last_activity_at.isoformat() if c.last_activity_at else ""),
]


def _export_rows(contacts, fields: list[CustomField]):
    """The header, then one row per contact; custom fields under their keys (what the import maps back)."""
    yield ["id", *(name for name, _get in EXPORT_COLUMNS), *(field.key for field in fields)]
    for contact in contacts.iterator(chunk_size=2000):
        row = [contact.pk]
        for _name, get in EXPORT_COLUMNS:
            row.append(get(contact) if callable(get) else getattr(contact, get))
        for field in fields:
            value = contact.fields.get(field.key)
            row.append(", ".join(map(str, value)) if isinstance(value, list) else value)
        yield row


@login_required
@require_GET
def contact_export(request):
    """Every contact the filter matches (or the `ids` given among them) as a CSV file, streamed."""
    if not request.user.has_perm("contacts.view_contact"):
        return _forbidden(request, "Your account has no role that may see contacts.")
    data, row_errors = _filter_data(request.GET)
    sort = _sort(request.GET)
    filterset = contacts_filter(data, user=request.user)
    if not filterset.is_valid() or row_errors:
        context = _list_context(request, data, sort=sort, cursor=None, row_errors=row_errors)
        return render(request, TEMPLATE, context, status=400)
    ids = [int(pk) for pk in request.GET.getlist("ids") if pk.isdigit()]
    contacts = filterset.queryset.filter(pk__in=ids) if ids else filterset.qs
    contacts = contacts_for_list(contacts).order_by(*SORTS[sort])
    rows = _export_rows(contacts, list(CustomField.objects.for_contacts()))
    response = StreamingHttpResponse(csv_stream(rows, bom=True), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contacts-{timezone.localdate():%Y-%m-%d}.csv"'
    return response


# --- Add a contact ------------------------------------------------------------------------------------

class ContactCreateForm(forms.Form):
    """The fields a person types to add one contact; contacts.inputs.ContactInput checks them."""

    # No lengths or formats here: ContactInput is the one checker, with the API's and the import's messages.
    email = forms.CharField(label="Email", widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    first_name = forms.CharField(label="First name", required=False)
    last_name = forms.CharField(label="Last name", required=False)
    company = forms.CharField(label="Company", required=False,
                              help_text="An existing account of that name, or a new one.")
    owner = forms.ChoiceField(label="Owner", required=False)
    stage = forms.ChoiceField(label="Lifecycle stage", required=False)
    tags = forms.CharField(label="Tags", required=False, help_text="Separate tags with commas.")

    def __init__(self, *args, **kwargs):
        from lifecycle.models import LifecycleStage

        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Nobody")] + [
            (str(user.pk), user.get_full_name() or user.username)
            for user in User.objects.filter(is_active=True).order_by("first_name", "username")]
        self.fields["stage"].choices = [("", "No stage yet")] + [
            (str(stage.pk), stage.name)
            for stage in LifecycleStage.objects.filter(stage_set__is_active=True).order_by("position")]
        self.fields["email"].widget.attrs["autofocus"] = True

    def mark_errors(self) -> "ContactCreateForm":
        """Bootstrap classes, and errors tied to their fields for screen readers, once the errors are known."""
        for name, field in self.fields.items():
            invalid = bool(self.is_bound and self.errors.get(name))
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs["class"] = css + (" is-invalid" if invalid else "")
            described = ([f"id_{name}-errors"] if invalid else []) + ([f"id_{name}-help"] if field.help_text else [])
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)
            if invalid:
                field.widget.attrs["aria-invalid"] = "true"
        return self


@login_required
@require_http_methods(["GET", "POST"])
def contact_create_view(request):
    if not request.user.has_perm("contacts.add_contact"):
        return _forbidden(request, "Your role may not add contacts.")
    form = ContactCreateForm(request.POST or None, initial={"owner": str(request.user.pk)})
    if request.method == "POST" and form.is_valid():
        item = {name: value for name, value in form.cleaned_data.items() if value not in ("", None)}
        item.setdefault("owner", None)
        cleaned, errors = ContactInput(create_missing_tags=True).clean(item)
        if not errors:
            try:
                contact = contact_create(**cleaned, user=request.user, actor="user")
            except ValidationError as error:
                errors = error.message_dict
        for field, field_errors in errors.items():
            form.add_error(field if field in form.fields else None, field_errors)
        if not errors:
            messages.success(request, f"Added {contact}.")
            return redirect(_url("contacts:detail", contact.pk) or reverse("contacts:list"))
    return render(request, "contacts/contact_create.html", {"title": "Add a contact", "form": form.mark_errors()},
                  status=400 if form.errors else 200)


urlpatterns = [
    path("", contact_list, name="list"),
    path("new/", contact_create_view, name="create"),
    path("count/", contact_count, name="count"),
    path("bulk/", contact_bulk, name="bulk"),
    path("bulk/<str:job_id>/", contact_bulk_job, name="bulk_job"),
    path("export/", contact_export, name="export"),
]
