"""Accounts (companies): their writes, the reads the account pages share, and email-domain matching.

An account's `domain` is stored normalised ("acme.com": lower case, no scheme, no "www."), so a
contact whose address is "ada@acme.com" matches it exactly. Free-mail domains (gmail.com, ...)
never match an account: thousands of unrelated people share them.

Matching at scale: `Contact.search` is lower("first last email") and carries a trigram GIN index,
and the email is its last word, so `search LIKE '%@acme.com'` finds an account's people through
that index instead of scanning every contact.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from contacts.events import publish_on_commit
from contacts.models import Account, Contact, Event
from pipelines.models import Deal
from users.permissions import visible_to

__all__ = [
    "FREE_MAIL_DOMAINS", "AccountSummary", "account_ancestors", "account_create", "account_delete",
    "account_link_contacts", "account_suggestion_for", "account_summary", "account_update", "accounts_count_attach",
    "accounts_with_counts",
    "email_domain", "normalize_domain", "unlinked_domain_contacts",
]

#: Domains people use for personal mail: an address there says nothing about their company.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "hotmail.com", "outlook.com", "live.com", "msn.com",
    "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.net",
    "mail.com", "yandex.com", "zoho.com",
})

#: Fields a person may set on an account.
ACCOUNT_FIELDS = ("name", "domain", "industry", "size", "annual_revenue", "parent", "owner")
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
#: A hierarchy deeper than this is certainly a mistake; it also bounds the recursive queries.
MAX_DEPTH = 50
_HIERARCHY_LOCK = 0x4C43_4143  # an arbitrary constant naming the "account hierarchy" advisory lock


# --- Domains -------------------------------------------------------------------------------------

def normalize_domain(value: str) -> str:
    """'https://www.Acme.com/about' → 'acme.com'. Leaves anything else for the validator to refuse."""
    domain = (value or "").strip().lower()
    domain = re.sub(r"^[a-z][a-z0-9+.-]*://", "", domain)
    domain = domain.split("/", 1)[0].split("?", 1)[0].rstrip(".").lstrip("@")
    return domain.removeprefix("www.")


def email_domain(email: str) -> str:
    """The normalised domain of an email address ('' when there is none)."""
    _local, at, domain = (email or "").rpartition("@")
    return normalize_domain(domain) if at else ""


def _clean_domain(value: str) -> str:
    domain = normalize_domain(value)
    if domain and not _DOMAIN.match(domain):
        raise ValidationError({"domain": [f"“{value.strip()}” is not a domain; enter it like acme.com."]})
    return domain


# --- Reads ---------------------------------------------------------------------------------------

def _count_annotations(user) -> dict:
    """`contact_count` and `open_deal_count` of an account, among the contacts and deals `user` may see.

    Correlated subqueries, each an index scan on the foreign key: no join fan-out, no query per row.
    """
    contacts = (visible_to(Contact.objects.filter(account=OuterRef("pk")), user)
                .order_by().values("account").annotate(n=Count("*")).values("n"))
    deals = (visible_to(Deal.objects.filter(account=OuterRef("pk"), status=Deal.Status.OPEN), user)
             .order_by().values("account").annotate(n=Count("*")).values("n"))
    return {"contact_count": Coalesce(Subquery(contacts, output_field=IntegerField()), Value(0)),
            "open_deal_count": Coalesce(Subquery(deals, output_field=IntegerField()), Value(0))}


def accounts_with_counts(user) -> QuerySet:
    """The accounts `user` may see, each with `contact_count` and `open_deal_count` (see `_count_annotations`).

    For a paged list prefer `accounts_count_attach` on the page: PostgreSQL evaluates these
    subqueries for every row an OFFSET skips too.
    """
    return visible_to(Account.objects.all(), user).select_related("owner").annotate(**_count_annotations(user))


def accounts_count_attach(accounts: list[Account], user) -> list[Account]:
    """Set `contact_count` and `open_deal_count` on already loaded accounts, in one query."""
    counts = {pk: (contacts, deals) for pk, contacts, deals in
              Account.objects.filter(pk__in=[a.pk for a in accounts]).order_by()
              .annotate(**_count_annotations(user)).values_list("pk", "contact_count", "open_deal_count")}
    for account in accounts:
        account.contact_count, account.open_deal_count = counts.get(account.pk, (0, 0))
    return accounts


def account_ancestors(account: Account) -> list[Account]:
    """The account's parent, grandparent, ... up to the top, top first; one recursive query."""
    if account.parent_id is None:
        return []
    rows = Account.objects.raw(
        """WITH RECURSIVE chain(id, depth) AS (
               SELECT %s::bigint, 1
               UNION ALL
               SELECT a.parent_id, chain.depth + 1 FROM contacts_account a JOIN chain ON a.id = chain.id
               WHERE a.parent_id IS NOT NULL AND chain.depth < %s)
           SELECT a.id, a.name, a.parent_id FROM chain JOIN contacts_account a ON a.id = chain.id
           ORDER BY chain.depth DESC""", [account.parent_id, MAX_DEPTH])
    return list(rows)


def _descendant_ids(account_id: int) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH RECURSIVE below(id, depth) AS (
                   SELECT id, 1 FROM contacts_account WHERE parent_id = %s
                   UNION ALL
                   SELECT a.id, below.depth + 1 FROM contacts_account a JOIN below ON a.parent_id = below.id
                   WHERE below.depth < %s)
               SELECT id FROM below""", [account_id, MAX_DEPTH])
        return {row[0] for row in cursor.fetchall()}


def _domain_contacts(domain: str) -> QuerySet:
    """Contacts whose email is at exactly `domain` (see the module docstring for the index it uses)."""
    pattern = "@" + domain.lower()
    return Contact.objects.filter(search__endswith=pattern, email__iendswith=pattern).order_by()


def unlinked_domain_contacts(account: Account, user=None) -> QuerySet:
    """Contacts with an email at the account's domain that belong to no account yet (among those `user` sees)."""
    domain = normalize_domain(account.domain)
    if not domain or domain in FREE_MAIL_DOMAINS:
        return Contact.objects.none()
    contacts = _domain_contacts(domain).filter(account__isnull=True)
    return visible_to(contacts, user) if user is not None else contacts


def account_suggestion_for(contact: Contact, user=None) -> Account | None:
    """The account a contact without one probably works at, from their email's domain; None if unsure.

    An account's domain matches when it is the email's domain exactly, or that domain without a
    leading "www.". Free-mail domains never match. When several accounts share the domain, the
    oldest wins (subsidiaries usually get their own subdomain).
    """
    if contact.account_id is not None:
        return None
    domain = email_domain(contact.email)
    if not domain or domain in FREE_MAIL_DOMAINS:
        return None
    accounts = Account.objects.annotate(ldomain=Lower("domain")).filter(ldomain__in=[domain, f"www.{domain}"])
    if user is not None:
        accounts = visible_to(accounts, user)
    return accounts.order_by("id").first()


@dataclass(frozen=True)
class AccountSummary:
    """What the account page shows beside its fields."""

    ancestors: list[Account]
    children: list[Account]
    unlinked_count: int
    domain: str


def account_summary(account: Account, user) -> AccountSummary:
    domain = normalize_domain(account.domain)
    return AccountSummary(
        ancestors=account_ancestors(account),
        children=list(accounts_with_counts(user).filter(parent=account).order_by("name", "id")),
        unlinked_count=unlinked_domain_contacts(account, user).count(),
        domain=domain,
    )


# --- Writes --------------------------------------------------------------------------------------

def _check_parent(account: Account) -> None:
    parent = account.parent
    if parent is None:
        return
    if account.pk is not None and (parent.pk == account.pk or parent.pk in _descendant_ids(account.pk)):
        what = "itself" if parent.pk == account.pk else f"“{parent.name}”, which is one of its own sub-accounts"
        raise ValidationError({"parent": [
            f"“{account.name}” cannot sit under {what}: that would make a loop. Choose another parent."]})
    if len(account_ancestors(account)) >= MAX_DEPTH:
        raise ValidationError({"parent": [f"Accounts can be nested at most {MAX_DEPTH} levels deep."]})


def _apply(account: Account, data: dict) -> None:
    unknown = set(data) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be set on an account."] for name in sorted(unknown)})
    for name, value in data.items():
        if name == "domain":
            value = _clean_domain(value)
        elif name in ("name", "industry"):
            value = (value or "").strip()
        elif name == "size":
            value = value or ""
        setattr(account, name, value)
    account.full_clean()
    _check_parent(account)


@transaction.atomic
def account_create(*, user=None, **data) -> Account:
    """A new account from name, domain, industry, size, annual_revenue, parent and owner."""
    account = Account()
    _apply(account, data)
    account.save()
    return account


@transaction.atomic
def account_update(*, account: Account, user=None, **data) -> Account:
    """Change an account's fields. A parent that would put the account under itself is refused."""
    locked = Account.objects.select_for_update().get(pk=account.pk)
    if data.get("parent") is not None:
        # One re-parenting at a time: two people moving A under B and B under A at once would each
        # pass the loop check alone. Held until the transaction ends; other edits do not wait.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_HIERARCHY_LOCK])
    _apply(locked, data)
    locked.save()
    return locked


def _link(contact_ids_sql: str, params: list, *, account_id: int | None, actor: str) -> list[int]:
    """Set `account_id` on the contacts the SQL selects; one field_changed event each. Returns their ids."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            # The last condition is checked again on a row another transaction changed meanwhile, so a
            # contact linked elsewhere since the SELECT is left alone.
            f"""UPDATE contacts_contact c SET account_id = %s, updated_at = %s,
                       last_activity_at = GREATEST(c.last_activity_at, %s)
                FROM ({contact_ids_sql}) AS picked(id, old_account_id)
                WHERE c.id = picked.id AND c.account_id IS NOT DISTINCT FROM picked.old_account_id
                RETURNING c.id, picked.old_account_id""",  # noqa: S608 - the SQL is ours, values are parameters
            [account_id, now, now, *params])
        changed = cursor.fetchall()
    events = Event.objects.bulk_create(
        [Event(contact_id=pk, type="field_changed", occurred_at=now, source=actor,
               properties={"changes": {"account_id": [old, account_id]}}) for pk, old in changed],
        batch_size=2000)
    publish_on_commit(event.pk for event in events)
    return [pk for pk, _old in changed]


@transaction.atomic
def account_link_contacts(*, account: Account, user=None, actor: str = "user") -> int:
    """Link every contact with an email at the account's domain and no account yet; returns how many.

    One UPDATE for all of them and one field_changed event per contact, published on commit. With
    `user`, only the contacts they may see are linked.
    """
    picked = unlinked_domain_contacts(account, user).values("id", "account_id")
    try:
        sql, params = picked.query.sql_with_params()
    except EmptyResultSet:  # no usable domain, or a user who sees no contacts
        return 0
    return len(_link(sql, list(params), account_id=account.pk, actor=actor))


@transaction.atomic
def account_delete(*, account: Account, user=None, actor: str = "user") -> None:
    """Delete an account. Its contacts and deals stay, without an account; its sub-accounts lose their parent.

    Each unlinked contact gets a field_changed event, like any other change of its account.
    """
    account = Account.objects.select_for_update().get(pk=account.pk)
    picked = Contact.objects.filter(account=account).values("id", "account_id")
    sql, params = picked.query.sql_with_params()
    _link(sql, list(params), account_id=None, actor=actor)
    Deal.objects.filter(account=account).update(account=None)
    Account.objects.filter(parent=account).update(parent=None)
    account.delete()
