"""Settings → Custom fields, Tags and Lists, mounted at /settings/ (namespace "contacts-settings").

Custom fields are of contacts or of deals: the fields page switches with `?object=deal`, and a new
field's object comes from the same parameter. Admins manage custom fields; admins, managers and
marketers manage tags and lists (contacts.catalog.can_manage). Everyone else gets a 403 page that
says who to ask. Forms with errors come back with status 400 and the messages by their fields;
deleting always goes through a confirmation page that says what will be lost.
"""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts import catalog
from contacts.catalog_forms import CustomFieldForm, ListForm, TagForm, contacts_phrase, records_phrase
from contacts.models import ContactList, CustomField, Subscription, Tag
from lifecycle.forms import add_service_errors

__all__ = ["urlpatterns"]

TAGS_PER_PAGE = 50
AREAS = {
    CustomField: ("Custom fields", "Only admins can change custom fields",
                  "Custom fields are part of every form, import and API call, so admins define them."),
    Tag: ("Tags", "Only admins, managers and marketers can manage tags",
          "You can still add and remove tags on the contacts you work with."),
    ContactList: ("Lists", "Only admins, managers and marketers can manage lists",
                  "You can still see which lists a contact is on, on the contact's page."),
}


def catalog_permission(model, action: str = "view"):
    """Signed in and allowed to `action` on `model`'s catalog; anyone else gets the 403 page."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not catalog.can_manage(request.user, model, action):
                title, heading, hint = AREAS[model]
                return render(request, "contacts/settings_forbidden.html",
                              {"title": title, "heading": heading, "hint": hint}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator



def _form_page(request, *, form, title: str, heading: str, intro: str, submit: str, cancel: str, crumb: str,
               crumb_url: str, status: int = 200, **extra):
    return render(request, "contacts/settings_form.html", {
        "title": title, "heading": heading, "intro": intro, "form": form, "submit": submit, "cancel": cancel,
        "crumb": crumb, "crumb_url": crumb_url, **extra}, status=status)


def _delete_page(request, *, title: str, heading: str, consequences: list[str], submit: str, cancel: str,
                 crumb: str, crumb_url: str, action: str, error: str | None = None):
    return render(request, "contacts/settings_delete.html", {
        "title": title, "heading": heading, "consequences": consequences, "submit": submit, "cancel": cancel,
        "crumb": crumb, "crumb_url": crumb_url, "action": action, "error": error}, status=400 if error else 200)


# --- Custom fields -------------------------------------------------------------------------------

def _field_initial(field: CustomField) -> dict:
    return {"label": field.label, "key": field.key, "type": field.type, "choices": "\n".join(field.choices),
            "help_text": field.help_text}


FIELDS_CRUMB = "Custom fields"


def _object_param(request) -> str:
    """Whose fields a page is about: `?object=deal` for deals, contacts otherwise."""
    value = request.GET.get("object", "")
    return CustomField.Object.DEAL if value == CustomField.Object.DEAL else CustomField.Object.CONTACT


def _fields_url(object: str, anchor: str = "") -> str:
    """The fields page of contacts (no parameter, as it always was) or of deals (?object=deal)."""
    url = reverse("contacts-settings:fields")
    if object == CustomField.Object.DEAL:
        url += f"?{urlencode({'object': object})}"
    return url + (f"#{anchor}" if anchor else "")


@catalog_permission(CustomField, "view")
@require_GET
def fields(request):
    object = _object_param(request)
    field_list = list(CustomField.objects.filter(object=object))
    indexes = catalog.custom_field_index_states(object)
    for field in field_list:
        field.needs_index = field.type in catalog.RANGE_TYPES
        field.index_ready = indexes.get(field.key, False)
    return render(request, "contacts/settings_fields.html", {
        "title": FIELDS_CRUMB, "fields": field_list, "object": object,
        "objects": [(value, label, _fields_url(value)) for value, label in CustomField.Object.choices],
        "create_url": reverse("contacts-settings:field_create") + (
            f"?{urlencode({'object': object})}" if object == CustomField.Object.DEAL else "")})


@catalog_permission(CustomField, "add")
@require_http_methods(["GET", "POST"])
def field_create(request):
    object = _object_param(request)
    form = CustomFieldForm(request.POST or None, initial={"type": CustomField.Type.TEXT}, object=object)
    if request.method == "POST" and form.is_valid():
        try:
            field = catalog.custom_field_create(object=object, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            note = " Range filters on it get faster in a moment, once its index is built." \
                if field.type in catalog.RANGE_TYPES else ""
            messages.success(request, f"Added the field “{field.label}” ({field.key}).{note}")
            return redirect(_fields_url(object, f"field-{field.pk}"))
    deal = object == CustomField.Object.DEAL
    return _form_page(request, form=form, title=FIELDS_CRUMB, heading="New deal field" if deal else "New custom field",
                      intro=("A typed value every deal can have. Values are checked by type wherever they come "
                             "from: the deal page and the API.") if deal else
                            ("A typed value every contact can have. Values are checked by type wherever they "
                             "come from: forms, imports and the API."),
                      submit="Add field", cancel=_fields_url(object), crumb=FIELDS_CRUMB,
                      crumb_url=_fields_url(object), status=400 if form.errors else 200,
                      action=request.get_full_path(), script="js/settings_fields.js")


@catalog_permission(CustomField, "change")
@require_http_methods(["GET", "POST"])
def field_edit(request, pk: int):
    field = get_object_or_404(CustomField, pk=pk)
    form = CustomFieldForm(request.POST or None, initial=_field_initial(field),
                           in_use=catalog.custom_field_usage(field), object=field.object)
    if request.method == "POST" and form.is_valid():
        try:
            catalog.custom_field_update(field=field, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved the field “{field.label}”.")
            return redirect(_fields_url(field.object, f"field-{field.pk}"))
    whose = " of deals" if field.object == CustomField.Object.DEAL else ""
    return _form_page(request, form=form, title=FIELDS_CRUMB, heading=f"Edit “{field.label}”",
                      intro=f"A {field.get_type_display().lower()} field{whose}, key {field.key}.",
                      submit="Save", cancel=_fields_url(field.object, f"field-{field.pk}"),
                      crumb=FIELDS_CRUMB, crumb_url=_fields_url(field.object),
                      status=400 if form.errors else 200, script="js/settings_fields.js",
                      delete_url=reverse("contacts-settings:field_delete", args=[field.pk]))


@catalog_permission(CustomField, "change")
@require_POST
def field_move(request, pk: int):
    """Move a field up or down among its object's fields: what the arrows on the fields page post."""
    field = get_object_or_404(CustomField, pk=pk)
    try:
        position = int(request.POST.get("position", ""))
    except ValueError:
        messages.error(request, "Choose where to move the field.")
    else:
        catalog.custom_field_move(field=field, position=position)
    return redirect(_fields_url(field.object, f"field-{field.pk}"))


@catalog_permission(CustomField, "delete")
@require_http_methods(["GET", "POST"])
def field_delete(request, pk: int):
    field = get_object_or_404(CustomField, pk=pk)
    things = "deals" if field.object == CustomField.Object.DEAL else "contacts"
    if request.method == "POST":
        catalog.custom_field_delete(field=field)
        messages.success(request, f"Deleted the field “{field.label}”. Its values are being removed from the "
                                  f"{things} in the background.")
        return redirect(_fields_url(field.object))
    in_use = catalog.custom_field_usage(field)
    consequences = [
        f"{records_phrase(in_use, field.object, 'has', 'have')} a value for it; "
        f"{'those values are' if in_use != 1 else 'that value is'} removed." if in_use
        else f"No {things[:-1]} has a value for it yet.",
        f"{'API calls' if things == 'deals' else 'Imports, API calls'} and filters that use the key "
        f"“{field.key}” stop working.",
        "This cannot be undone.",
    ]
    return _delete_page(request, title=FIELDS_CRUMB, heading=f"Delete the field “{field.label}”?",
                        consequences=consequences, submit="Delete field and values",
                        cancel=_fields_url(field.object, f"field-{field.pk}"), crumb=FIELDS_CRUMB,
                        crumb_url=_fields_url(field.object),
                        action=reverse("contacts-settings:field_delete", args=[field.pk]))


# --- Tags ----------------------------------------------------------------------------------------

TAGS_CRUMB = "Tags"


def _tags_url(query: str = "") -> str:
    return reverse("contacts-settings:tags") + (f"?{urlencode({'q': query})}" if query else "")


def _tags_page(request, *, form: TagForm | None = None, status: int = 200):
    query = request.GET.get("q", "").strip()
    tags = catalog.tags_with_counts().order_by("name", "id")
    if query:
        tags = tags.filter(name__icontains=query)
    page = Paginator(tags, TAGS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"title": TAGS_CRUMB, "page": page, "query": query, "form": form or TagForm(prefix="new")}
    if request.htmx and request.method == "GET":
        return render(request, "contacts/settings_tags.html#tag-table", context)
    return render(request, "contacts/settings_tags.html", context, status=status)


@catalog_permission(Tag, "view")
@require_GET
def tags(request):
    return _tags_page(request)


@catalog_permission(Tag, "add")
@require_POST
def tag_create(request):
    form = TagForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            tag = catalog.tag_create(name=form.cleaned_data["name"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Added the tag “{tag.name}”.")
            return redirect(_tags_url(tag.name))
    return _tags_page(request, form=form, status=400)


def _tag_edit_page(request, *, tag: Tag, form: TagForm, merge_into: str = "", merge_error: str = ""):
    carry = contacts_phrase(tag.contact_count, "carries", "carry")
    return _form_page(request, form=form, title=TAGS_CRUMB, heading=f"Rename “{tag.name}”",
                      intro=f"{carry} this tag; they keep it under its new name.",
                      submit="Rename", cancel=reverse("contacts-settings:tags"), crumb=TAGS_CRUMB,
                      crumb_url=reverse("contacts-settings:tags"), status=400 if form.errors or merge_error else 200,
                      action=reverse("contacts-settings:tag_edit", args=[tag.pk]),
                      delete_url=reverse("contacts-settings:tag_delete", args=[tag.pk]),
                      merge_tag=tag if catalog.can_manage(request.user, Tag, "delete") else None,
                      merge_into=merge_into, merge_error=merge_error)


@catalog_permission(Tag, "change")
@require_http_methods(["GET", "POST"])
def tag_edit(request, pk: int):
    tag = get_object_or_404(catalog.tags_with_counts(), pk=pk)
    form = TagForm(request.POST or None, initial={"name": tag.name})
    if request.method == "POST" and form.is_valid():
        old = tag.name
        try:
            catalog.tag_rename(tag=tag, name=form.cleaned_data["name"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Renamed “{old}” to “{tag.name}”.")
            return redirect(_tags_url(tag.name))
    return _tag_edit_page(request, tag=tag, form=form)


@catalog_permission(Tag, "delete")
@require_http_methods(["GET", "POST"])
def tag_merge(request, pk: int):
    """Merge a tag into another: a confirmation (GET ?into=name) and the merge itself (POST into=name)."""
    tag = get_object_or_404(catalog.tags_with_counts(), pk=pk)
    into_name = (request.POST if request.method == "POST" else request.GET).get("into", "").strip()
    into = catalog.tags_with_counts().filter(name__iexact=into_name).first() if into_name else None
    if into is None or into.pk == tag.pk:
        error = ("Choose the tag to merge into." if not into_name else f"There is no tag “{into_name}”."
                 if into is None else "Choose a different tag to merge into.")
        return _tag_edit_page(request, tag=tag, form=TagForm(initial={"name": tag.name}), merge_into=into_name,
                              merge_error=error)
    if request.method == "POST":
        gained = catalog.tag_merge(tag=tag, into=into)
        messages.success(request, f"Merged “{tag.name}” into “{into.name}”: {contacts_phrase(gained)} gained it.")
        return redirect(_tags_url(into.name))
    return render(request, "contacts/settings_tag_merge.html", {"title": TAGS_CRUMB, "tag": tag, "into": into})


@catalog_permission(Tag, "delete")
@require_http_methods(["GET", "POST"])
def tag_delete(request, pk: int):
    tag = get_object_or_404(catalog.tags_with_counts(), pk=pk)
    error = None
    if request.method == "POST":
        try:
            catalog.tag_delete(tag=tag)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Deleted the tag “{tag.name}”; {contacts_phrase(tag.contact_count)} lost it.")
            return redirect("contacts-settings:tags")
    carry = tag.contact_count
    consequences = [
        f"{contacts_phrase(carry, 'carries', 'carry')} it and will lose it." if carry
        else "No contact carries it.",
        "Their timelines keep the record of when it was added. This cannot be undone.",
    ]
    return _delete_page(request, title=TAGS_CRUMB, heading=f"Delete the tag “{tag.name}”?",
                        consequences=consequences, submit="Delete tag", cancel=reverse("contacts-settings:tags"),
                        crumb=TAGS_CRUMB, crumb_url=reverse("contacts-settings:tags"), error=error,
                        action=reverse("contacts-settings:tag_delete", args=[tag.pk]))


# --- Lists ---------------------------------------------------------------------------------------

LISTS_CRUMB = "Lists"


@catalog_permission(ContactList, "view")
@require_GET
def lists(request):
    rows = catalog.lists_with_counts()
    for row in rows:
        row.status_counts = [(status, getattr(row, f"{status}_count")) for status in Subscription.Status.values]
    return render(request, "contacts/settings_lists.html", {
        "title": LISTS_CRUMB, "lists": rows, "statuses": Subscription.Status.choices})


@catalog_permission(ContactList, "add")
@require_http_methods(["GET", "POST"])
def list_create(request):
    form = ListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact_list = catalog.list_create(**form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Added the list “{contact_list.name}”.")
            return redirect(reverse("contacts-settings:lists") + f"#list-{contact_list.pk}")
    return _form_page(request, form=form, title=LISTS_CRUMB, heading="New list",
                      intro="A mailing list contacts subscribe to. Each contact has one status per list.",
                      submit="Add list", cancel=reverse("contacts-settings:lists"), crumb=LISTS_CRUMB,
                      crumb_url=reverse("contacts-settings:lists"), status=400 if form.errors else 200)


@catalog_permission(ContactList, "change")
@require_http_methods(["GET", "POST"])
def list_edit(request, pk: int):
    contact_list = get_object_or_404(ContactList, pk=pk)
    form = ListForm(request.POST or None, initial={"name": contact_list.name, "description": contact_list.description,
                                                  "double_opt_in": contact_list.double_opt_in})
    if request.method == "POST" and form.is_valid():
        try:
            catalog.list_update(contact_list=contact_list, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved the list “{contact_list.name}”.")
            return redirect(reverse("contacts-settings:lists") + f"#list-{contact_list.pk}")
    return _form_page(request, form=form, title=LISTS_CRUMB, heading=f"Edit “{contact_list.name}”",
                      intro="Subscribers keep their status when you rename a list.", submit="Save",
                      cancel=reverse("contacts-settings:lists") + f"#list-{contact_list.pk}", crumb=LISTS_CRUMB,
                      crumb_url=reverse("contacts-settings:lists"), status=400 if form.errors else 200,
                      delete_url=reverse("contacts-settings:list_delete", args=[contact_list.pk]))


@catalog_permission(ContactList, "delete")
@require_http_methods(["GET", "POST"])
def list_delete(request, pk: int):
    contact_list = catalog.lists_with_counts([get_object_or_404(ContactList, pk=pk)])[0]
    error = None
    if request.method == "POST":
        try:
            catalog.list_delete(contact_list=contact_list)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Deleted the list “{contact_list.name}”.")
            return redirect("contacts-settings:lists")
    subscribed, total = contact_list.subscribed_count, contact_list.subscription_count
    consequences = [
        f"{contacts_phrase(subscribed, 'is', 'are')} subscribed"
        f"{f', out of {total:,} with a status on it' if total != subscribed else ''}. "
        f"Every status, unsubscribes and bounces included, is deleted with the list." if total
        else "Nobody is on it.",
        "The contacts themselves stay. This cannot be undone.",
    ]
    return _delete_page(request, title=LISTS_CRUMB, heading=f"Delete the list “{contact_list.name}”?",
                        consequences=consequences, submit="Delete list",
                        cancel=reverse("contacts-settings:lists") + f"#list-{contact_list.pk}", crumb=LISTS_CRUMB,
                        crumb_url=reverse("contacts-settings:lists"), error=error,
                        action=reverse("contacts-settings:list_delete", args=[contact_list.pk]))


urlpatterns = [
    path("fields/", fields, name="fields"),
    path("fields/new/", field_create, name="field_create"),
    path("fields/<int:pk>/edit/", field_edit, name="field_edit"),
    path("fields/<int:pk>/move/", field_move, name="field_move"),
    path("fields/<int:pk>/delete/", field_delete, name="field_delete"),
    path("tags/", tags, name="tags"),
    path("tags/new/", tag_create, name="tag_create"),
    path("tags/<int:pk>/edit/", tag_edit, name="tag_edit"),
    path("tags/<int:pk>/merge/", tag_merge, name="tag_merge"),
    path("tags/<int:pk>/delete/", tag_delete, name="tag_delete"),
    path("lists/", lists, name="lists"),
    path("lists/new/", list_create, name="list_create"),
    path("lists/<int:pk>/edit/", list_edit, name="list_edit"),
    path("lists/<int:pk>/delete/", list_delete, name="list_delete"),
]
