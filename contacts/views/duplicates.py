"""Duplicates: the list of likely duplicate contacts, and merging two contacts.

Merging deletes a contact, so it needs contacts.delete_contact (admins, managers, marketers), and
both contacts must be visible to the user. The merge page is: choose (side by side, a radio per
conflicting field) → review → merge; the merged contact's page opens with a toast.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from contacts.merge import DUPLICATE, PRIMARY, contacts_merge, duplicates_find, merge_fields_compare, merge_moves
from contacts.models import Contact
from contacts.views.accounts import contact_url
from users.permissions import visible_to

__all__ = ["urlpatterns"]

TITLE = "Duplicates"


def _forbidden(request):
    return render(request, "contacts/account_forbidden.html", {
        "title": TITLE, "back_url": reverse("contacts:list"), "back_label": "Go to contacts",
        "message": "Merging deletes a contact, so only admins, managers and marketers can merge duplicates.",
    }, status=403)


@login_required
@require_GET
def duplicates(request):
    if not request.user.has_perm("contacts.delete_contact"):
        return _forbidden(request)
    return render(request, "contacts/duplicates.html", {
        "title": TITLE, "groups": duplicates_find(user=request.user),
    })


def _find(contacts, value: str) -> Contact:
    """A contact by id, or by email address (what people know); 404 when there is none."""
    value = value.strip()
    found = (contacts.filter(pk=int(value)) if value.isdigit()
             else contacts.with_email(value) if "@" in value else contacts.none()).first()
    if found is None:
        raise Http404("There is no such contact.")
    return found


def _bad_request(request, message: str, a: str = "", b: str = ""):
    return render(request, "contacts/duplicate_merge.html", {
        "title": "Merge contacts", "error": message, "a": a, "b": b,
    }, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def merge(request):
    if not request.user.has_perm("contacts.delete_contact"):
        return _forbidden(request)
    params = request.POST if request.method == "POST" else request.GET
    a, b = params.get("a", "").strip(), params.get("b", "").strip()
    if request.method == "GET" and not (a and b):
        # Arriving from a contact's "Merge with…": ask for the other contact, no error yet.
        return render(request, "contacts/duplicate_merge.html", {"title": "Merge contacts", "a": a, "b": b})
    if not a or not b:
        return _bad_request(request, "Choose the two contacts to merge: enter their email addresses or ids.", a, b)
    contacts = visible_to(Contact.objects.all(), request.user)
    first, second = _find(contacts, a), _find(contacts, b)
    if first.pk == second.pk:
        return _bad_request(request, "That is the same contact twice. A contact cannot be merged into itself; "
                                     "choose two different contacts.", a, b)
    # The primary survives. By default it is the older one: other systems most likely know its id.
    older, newer = sorted((first, second), key=lambda c: (c.created_at, c.pk))
    primary, duplicate = (newer, older) if params.get("primary") == str(newer.pk) else (older, newer)

    compared = merge_fields_compare(primary, duplicate)
    choices = {f.name: params[f"choice-{f.name}"] for f in compared
               if f.conflict and params.get(f"choice-{f.name}") in (PRIMARY, DUPLICATE)}
    context = {
        "title": "Merge contacts", "primary": primary, "duplicate": duplicate, "a": str(first.pk),
        "b": str(second.pk),
        "rows": [{"field": f, "side": choices.get(f.name, f.default)} for f in compared],
        "conflicts": sum(1 for f in compared if f.conflict),
    }
    step = params.get("step", "") if request.method == "POST" else ""
    if step == "merge":
        duplicate_email = duplicate.email
        try:
            merged = contacts_merge(primary=primary, duplicate=duplicate, choices=choices, user=request.user)
        except ValidationError as error:
            context["error"] = " ".join(error.messages)
            return render(request, "contacts/duplicate_merge.html", context, status=400)
        messages.success(request, f"Merged {duplicate_email} into {merged}.")
        return redirect(contact_url(merged.pk))
    context["moves"] = merge_moves(duplicate)
    if step == "review":
        return render(request, "contacts/duplicate_merge_confirm.html", context)
    return render(request, "contacts/duplicate_merge.html", context)


urlpatterns = [
    path("duplicates/", duplicates, name="duplicates"),
    path("duplicates/merge/", merge, name="merge"),
]
