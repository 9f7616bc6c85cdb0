"""Accounts pages: the list, an account's page, its form and delete, and linking contacts by email domain.

Reads go through users.permissions.visible_to (an account's owner decides who sees it); writes need
the contacts.add_account / change_account / delete_account permissions (sales reps may add and
change, not delete). Linking contacts needs contacts.change_contact.
"""

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts.accounts import (
    account_create,
    account_delete,
    account_link_contacts,
    account_summary,
    account_update,
    accounts_count_attach,
    accounts_with_counts,
    normalize_domain,
)
from contacts.models import Account, Contact
from contacts.services import contact_update
from lifecycle.forms import add_service_errors
from pipelines.models import Deal
from users.models import User
from users.permissions import visible_to

__all__ = ["AccountFilterForm", "AccountForm", "contact_url", "urlpatterns"]

PAGE_SIZE = 25
#: Suggestions shown for the parent field.
OPTIONS = 20
SORTS = {"name": ("name", "id"), "-name": ("-name", "-id"), "created": ("created_at", "id"),
         "-created": ("-created_at", "-id")}


def contact_url(contact_id: int) -> str:
    """The contact's page (built by the contacts pages); the contact list until that page exists."""
    try:
        return reverse("contacts:detail", args=[contact_id])
    except NoReverseMatch:
        return reverse("contacts:list")


def _forbidden(request, message: str):
    return render(request, "contacts/account_forbidden.html", {"title": "Accounts", "message": message},
                  status=403)


def _owners():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


def _visible_accounts(user):
    return visible_to(Account.objects.all(), user)


# --- Forms ---------------------------------------------------------------------------------------

class AccountFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    industry = forms.ChoiceField(required=False, label="Industry")
    owner = forms.ChoiceField(required=False, label="Owner")
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in SORTS])

    def __init__(self, data, *, user, industries):
        super().__init__(data)
        self.fields["industry"].choices = [("", "Any industry"), *((name, name) for name in industries)]
        self.fields["owner"].choices = [("", "Anyone"), ("me", "Me"), ("none", "No owner"),
                                        *((str(u.pk), str(u)) for u in _owners())]

    def filter(self, accounts, user):
        data = self.cleaned_data if self.is_valid() else {}
        q = (data.get("q") or "").strip()
        if q:
            # lower(name) has a trigram index; LIKE '%q%' on it uses that index.
            accounts = accounts.annotate(lname=Lower("name")).filter(
                Q(lname__contains=q.lower()) | Q(domain__icontains=normalize_domain(q) or q))
        if data.get("industry"):
            accounts = accounts.filter(industry=data["industry"])
        owner = data.get("owner")
        if owner == "me":
            accounts = accounts.filter(owner=user)
        elif owner == "none":
            accounts = accounts.filter(owner__isnull=True)
        elif owner:
            accounts = accounts.filter(owner_id=int(owner))
        return accounts.order_by(*SORTS.get(data.get("sort") or "name", SORTS["name"]))

    @property
    def active(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.get(name) for name in ("q", "industry", "owner"))


class AccountForm(forms.Form):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "organization"}))
    domain = forms.CharField(max_length=253, required=False, help_text="e.g. acme.com. Contacts with emails at this "
                             "domain are offered a link to the account.")
    industry = forms.CharField(max_length=100, required=False)
    size = forms.ChoiceField(choices=[("", "Unknown"), *Account.Size.choices], required=False)
    annual_revenue = forms.DecimalField(max_digits=16, decimal_places=2, min_value=0, required=False,
                                        label="Annual revenue", help_text="In your reporting currency.")
    # A text field with suggestions rather than a <select>: there may be tens of thousands of accounts.
    parent = forms.CharField(required=False, max_length=220, label="Parent account",
                             help_text="The company this one belongs to, e.g. a group or holding. Start typing its "
                                       "name and pick it from the list; leave empty for a top-level account.",
                             widget=forms.TextInput(attrs={"list": "parent-options", "autocomplete": "off"}))
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="No owner")

    def __init__(self, *args, user, account: Account | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        parents = _visible_accounts(user)
        if account is not None and account.parent_id:
            parents = parents | Account.objects.filter(pk=account.parent_id)
        self.parents = parents
        self.fields["parent"].widget.attrs.update({
            "hx-get": reverse("contacts:account_options"), "hx-trigger": "input changed delay:250ms, focus once",
            "hx-target": "#parent-options", "hx-swap": "innerHTML"})
        self.fields["owner"].queryset = _owners()
        for bound in self:
            widget = bound.field.widget
            widget.attrs.setdefault("class", "form-select" if isinstance(widget, forms.Select) else "form-control")
            if bound.help_text:
                widget.attrs["aria-describedby"] = f"{bound.auto_id}-help"

    def clean_parent(self) -> Account | None:
        """An account picked from the suggestions ("Name · #id"), or typed by its exact name."""
        value = self.cleaned_data["parent"].strip()
        if not value:
            return None
        picked = re.search(r"#(\d+)\s*$", value)
        if picked:
            matches = list(self.parents.filter(pk=int(picked[1]))[:1])
        else:
            matches = list(self.parents.annotate(lname=Lower("name")).filter(lname=value.lower())[:2])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise ValidationError(f"Several accounts are called “{value}”: pick the one you mean from the list.")
        raise ValidationError(f"There is no account “{value}”. Pick one from the list, or add it first.")

    def mark_invalid(self) -> "AccountForm":
        """Flag fields with errors for Bootstrap and screen readers; the first one gets the focus."""
        first = True
        for name in self.errors:
            if name not in self.fields:
                continue
            attrs = self.fields[name].widget.attrs
            attrs["class"] += " is-invalid"
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = " ".join(
                filter(None, [f"{self[name].auto_id}-errors", attrs.get("aria-describedby")]))
            if first:
                attrs["autofocus"] = True
                first = False
        return self


def parent_label(account: Account) -> str:
    """How an account appears in the parent field and its suggestions."""
    return f"{account.name} · #{account.pk}"


def _form_context(form: AccountForm, **extra) -> dict:
    return {"form": form.mark_invalid() if form.is_bound else form, **extra}


# --- Pages ---------------------------------------------------------------------------------------

@login_required
@require_GET
def account_list(request):
    accounts = _visible_accounts(request.user).select_related("owner")
    industries = (_visible_accounts(request.user).exclude(industry="").order_by("industry")
                  .values_list("industry", flat=True).distinct())
    form = AccountFilterForm(request.GET or None, user=request.user, industries=list(industries))
    page = Paginator(form.filter(accounts, request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = accounts_count_attach(list(page.object_list), request.user)
    params = request.GET.copy()
    params.pop("page", None)
    sort = form.cleaned_data.get("sort") if form.is_valid() else ""
    context = {
        "title": "Accounts", "form": form, "page": page, "sort": sort or "name",
        "query": params.urlencode(), "can_add": request.user.has_perm("contacts.add_account"),
        # A header sorts by its column, or the other way round when it already does.
        "sort_links": {"name": _with(params, sort="-name" if sort in ("", "name") else "name"),
                       "created": _with(params, sort="created" if sort == "-created" else "-created")},
    }
    if request.htmx and request.htmx.target == "account-results":
        return render(request, "contacts/account_list.html#results", context)
    return render(request, "contacts/account_list.html", context)


def _with(params, **changes) -> str:
    copy = params.copy()
    for key, value in changes.items():
        copy[key] = value
    return copy.urlencode()


@login_required
@require_GET
def account_detail(request, pk: int):
    account = get_object_or_404(accounts_with_counts(request.user).select_related("parent"), pk=pk)
    contacts = (visible_to(Contact.objects.filter(account=account), request.user)
                .select_related("owner", "lifecycle_stage").order_by("last_name", "first_name", "id"))
    deals = (visible_to(Deal.objects.filter(account=account), request.user)
             .select_related("stage", "pipeline", "owner", "contact").order_by("status", "-created_at", "-id"))
    user = request.user
    contacts_page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("contacts_page"))
    for contact in contacts_page:
        contact.page_url = contact_url(contact.pk)
    return render(request, "contacts/account_detail.html", {
        "title": account.name, "account": account, "summary": account_summary(account, user),
        "contacts_page": contacts_page,
        "deals_page": Paginator(deals, PAGE_SIZE).get_page(request.GET.get("deals_page")),
        "can_change": user.has_perm("contacts.change_account"),
        "can_delete": user.has_perm("contacts.delete_account"),
        "can_link": user.has_perm("contacts.change_contact"),
    })


@login_required
@require_http_methods(["GET", "POST"])
def account_new(request):
    if not request.user.has_perm("contacts.add_account"):
        return _forbidden(request, "Your role cannot add accounts. Ask an admin or a manager to add it.")
    initial = {"owner": request.user.pk}
    parent = _visible_accounts(request.user).filter(pk=request.GET["parent"]).first() \
        if request.GET.get("parent", "").isdigit() else None
    if parent is not None:
        initial["parent"] = parent_label(parent)
    form = AccountForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            account = account_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Added the account “{account.name}”.")
            return redirect("contacts:account_detail", pk=account.pk)
    return render(request, "contacts/account_form.html", _form_context(form, title="New account"),
                  status=400 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request, pk: int):
    account = get_object_or_404(_visible_accounts(request.user).select_related("parent"), pk=pk)
    if not request.user.has_perm("contacts.change_account"):
        return _forbidden(request, "Your role cannot change accounts.")
    initial = {name: getattr(account, name) for name in ("name", "domain", "industry", "size", "annual_revenue",
                                                         "owner")}
    initial["parent"] = parent_label(account.parent) if account.parent else ""
    form = AccountForm(request.POST or None, user=request.user, account=account, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            account = account_update(account=account, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved “{account.name}”.")
            return redirect("contacts:account_detail", pk=account.pk)
    return render(request, "contacts/account_form.html",
                  _form_context(form, title=f"Edit {account.name}", account=account),
                  status=400 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "POST"])
def account_remove(request, pk: int):
    account = get_object_or_404(accounts_with_counts(request.user), pk=pk)
    if not request.user.has_perm("contacts.delete_account"):
        return _forbidden(request, "Your role cannot delete accounts. Ask an admin or a manager.")
    if request.method == "POST":
        name = account.name
        account_delete(account=account, user=request.user)
        messages.success(request, f"Deleted the account “{name}”. Its contacts and deals were kept.")
        return redirect("contacts:account_list")
    return render(request, "contacts/account_delete.html", {
        "title": f"Delete {account.name}", "account": account,
        # Everything that hangs off it, not only what this user sees: all of it is unlinked.
        "contact_total": Contact.objects.filter(account=account).count(),
        "deal_total": Deal.objects.filter(account=account).count(),
        "child_total": Account.objects.filter(parent=account).count(),
    })


@login_required
@require_GET
def account_options(request):
    """Suggestions for the parent field as the user types: <option>s for its <datalist>."""
    typed = re.sub(r"\s*·\s*#\d*\s*$", "", request.GET.get("parent", "")).strip().lower()
    accounts = _visible_accounts(request.user).only("id", "name").order_by("name", "id")
    if typed:
        accounts = accounts.annotate(lname=Lower("name")).filter(lname__contains=typed)
    return render(request, "contacts/account_options.html",
                  {"options": [parent_label(account) for account in accounts[:OPTIONS]]})


@login_required
@require_POST
def account_link_domain_contacts(request, pk: int):
    """"N contacts with @domain emails aren't linked — Link them"."""
    account = get_object_or_404(_visible_accounts(request.user), pk=pk)
    if not request.user.has_perm("contacts.change_contact"):
        return _forbidden(request, "Your role cannot change contacts.")
    linked = account_link_contacts(account=account, user=request.user)
    if linked:
        messages.success(request, f"Linked {linked} contact{'s' if linked != 1 else ''} to “{account.name}”.")
    else:
        messages.info(request, "There were no contacts left to link.")
    return redirect("contacts:account_detail", pk=account.pk)


@login_required
@require_POST
def contact_link_account(request, pk: int, account_pk: int):
    """The contact page's "Link to <account>?" button. With htmx, answers with the button's new state."""
    if not request.user.has_perm("contacts.change_contact"):
        return _forbidden(request, "Your role cannot change contacts.")
    contact = get_object_or_404(visible_to(Contact.objects.all(), request.user), pk=pk)
    account = get_object_or_404(_visible_accounts(request.user), pk=account_pk)
    contact = contact_update(contact=contact, account_id=account.pk, user=request.user, actor="user")
    messages.success(request, f"Linked {contact} to “{account.name}”.")
    if request.htmx:
        return render(request, "contacts/account_suggestion.html", {"contact": contact, "account": account,
                                                                     "linked": True})
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return redirect(next_url)
    return redirect(contact_url(contact.pk))


urlpatterns = [
    path("accounts/", account_list, name="account_list"),
    path("accounts/new/", account_new, name="account_create"),
    path("accounts/options/", account_options, name="account_options"),
    path("accounts/<int:pk>/", account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", account_edit, name="account_edit"),
    path("accounts/<int:pk>/delete/", account_remove, name="account_delete"),
    path("accounts/<int:pk>/link-contacts/", account_link_domain_contacts, name="account_link_contacts"),
    path("<int:pk>/link-account/<int:account_pk>/", contact_link_account, name="contact_link_account"),
]
