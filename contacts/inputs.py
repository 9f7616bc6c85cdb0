"""One checker for contact input, whatever it arrives through: the API, a CSV import or a form.

`ContactInput` loads everything a batch refers to (custom fields, tags, stages, owners, accounts)
in a handful of queries, then `clean()` checks one item without touching the database, so a
thousand-item request costs the same few queries as one item.

A cleaned item is a dict with only the keys that were given:

    email, first_name, last_name, phone, title, lead_status, source, source_detail  (str)
    account_id, owner_id (int or None), company (str: an account matched or created by name)
    stage (LifecycleStage), fields (dict of cleaned custom values), tags (list of names)
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from contacts.fields import clean_field_values, custom_fields_by_key
from contacts.models import Account, Contact, Tag

__all__ = ["ContactInput", "TEXT_FIELDS", "normalize_email", "valid_email"]

#: Plain text columns and their maximum lengths.
TEXT_FIELDS = {"first_name": 100, "last_name": 100, "phone": 50, "title": 150, "source_detail": 200}
CHOICE_FIELDS = {"lead_status": Contact.LeadStatus, "source": Contact.Source}
KNOWN = {"email", "account", "company", "owner", "stage", "fields", "tags", *TEXT_FIELDS, *CHOICE_FIELDS}


def normalize_email(email: str) -> str:
    return email.strip().lower()


def valid_email(raw: str) -> str | None:
    """The address normalised, or None when it is not one we can store: invalid, over 254 characters, or
    holding a character that is not printable (validate_email lets a lone surrogate through in the domain,
    "a@\\ud800.com", which PostgreSQL then refuses)."""
    email = normalize_email(raw)
    try:
        validate_email(email)
    except ValidationError:
        return None
    return email if len(email) <= 254 and email.isprintable() else None


class ContactInput:
    """Checks contact input against what exists. Build one per request or import batch.

    - `create_missing_tags`: unknown tag names are created (imports, the UI) instead of refused (the API).
    - `owner_lookup`: owners may be given by username or email as well as id (CSV files).
    """

    def __init__(self, *, create_missing_tags: bool = False, owner_lookup: bool = False):
        from lifecycle.models import LifecycleStage
        from users.models import User

        self.create_missing_tags = create_missing_tags
        self.custom_fields = custom_fields_by_key()
        self.tags = {name.lower(): name for name in Tag.objects.values_list("name", flat=True)}
        stages = list(LifecycleStage.objects.filter(stage_set__is_active=True))
        self.stages = {stage.name.lower(): stage for stage in stages} | {str(stage.pk): stage for stage in stages}
        users = User.objects.filter(is_active=True).only("id", "username", "email")
        self.owners: dict[str, int] = {str(user.pk): user.pk for user in users}
        if owner_lookup:
            for user in users:
                self.owners.setdefault(user.username.lower(), user.pk)
                if user.email:
                    self.owners.setdefault(user.email.lower(), user.pk)
        self.accounts: set[int] = set()

    def prepare(self, items: Iterable[dict]) -> None:
        """Load the accounts the batch refers to by id, in one query."""
        ids = set()
        for item in items:
            account = item.get("account") if isinstance(item, dict) else None
            if isinstance(account, int) and not isinstance(account, bool):
                ids.add(account)
        self.accounts |= set(Account.objects.filter(pk__in=ids).values_list("pk", flat=True))

    def clean(self, item, *, partial: bool = False) -> tuple[dict, dict[str, list[str]]]:
        """(cleaned data, errors by field). `partial` allows leaving out the email (an update by id)."""
        if not isinstance(item, dict):
            return {}, {"non_field_errors": ["Each contact must be a JSON object."]}
        data, errors = {}, {}
        for key in item.keys() - KNOWN:
            errors[key] = [f"Unknown field “{key}”. Custom fields go inside \"fields\"."]

        if "email" in item or not partial:
            email = item.get("email")
            if not isinstance(email, str) or not email.strip():
                errors["email"] = ["An email address is required."]
            else:
                checked = valid_email(email)
                if checked is None:
                    shown = normalize_email(email).encode("utf-8", "backslashreplace").decode()[:254]
                    errors["email"] = (["An email address has at most 254 characters."]
                                       if len(normalize_email(email)) > 254 else
                                       [f"“{shown}” is not a valid email address."])
                else:
                    data["email"] = checked

        for name, limit in TEXT_FIELDS.items():
            if name in item:
                value = item[name]
                if value is None:
                    value = ""
                if not isinstance(value, str):
                    errors[name] = ["Enter text."]
                elif len(value.strip()) > limit:
                    errors[name] = [f"Keep it under {limit} characters."]
                else:
                    data[name] = value.strip()

        for name, choices in CHOICE_FIELDS.items():
            if name in item:
                value = item[name]
                if isinstance(value, str) and value.strip().lower() in choices.values:
                    data[name] = value.strip().lower()
                else:
                    errors[name] = [f"Choose one of: {', '.join(choices.values)}."]

        if "account" in item:
            account = item["account"]
            if account is None:
                data["account_id"] = None
            elif isinstance(account, int) and not isinstance(account, bool) and account in self.accounts:
                data["account_id"] = account
            else:
                errors["account"] = [f"There is no account with id {account!r}."]
        if "company" in item:
            company = item["company"]
            if company is None or (isinstance(company, str) and len(company.strip()) <= 200):
                data["company"] = (company or "").strip()
            else:
                errors["company"] = ["Enter a company name under 200 characters."]

        if "owner" in item:
            owner = item["owner"]
            if owner is None or owner == "":
                data["owner_id"] = None
            else:
                owner_id = self.owners.get(str(owner).strip().lower())
                if owner_id is None or isinstance(owner, bool):
                    errors["owner"] = [f"There is no active user {owner!r}."]
                else:
                    data["owner_id"] = owner_id

        if "stage" in item:
            stage = self.stages.get(str(item["stage"]).strip().lower()) if item["stage"] is not None else None
            if stage is None:
                names = ", ".join(s.name for key, s in self.stages.items() if not key.isdigit())
                errors["stage"] = [f"There is no lifecycle stage {item['stage']!r}. Stages: {names}."]
            else:
                data["stage"] = stage

        if "fields" in item:
            values, field_errors = clean_field_values(item["fields"], self.custom_fields)
            if field_errors:
                errors["fields"] = [f"{key}: {message}" for key, messages in field_errors.items()
                                    for message in messages]
            else:
                data["fields"] = values

        if "tags" in item:
            tags = item["tags"]
            if isinstance(tags, str):
                tags = tags.split(",")
            if not isinstance(tags, list | tuple) or not all(isinstance(tag, str) for tag in tags):
                errors["tags"] = ['Send tags as a list of names, e.g. ["vip", "newsletter"].']
            else:
                names, problems = [], []
                for tag in tags:
                    tag = tag.strip()
                    known = self.tags.get(tag.lower())
                    if not tag:
                        continue
                    if len(tag) > 100:
                        problems.append(f"A tag name has at most 100 characters: “{tag[:20]}…”.")
                    elif known is None and not self.create_missing_tags:
                        problems.append(f"Unknown tag “{tag}”; create it first (POST /api/v1/tags/).")
                    elif (known or tag) not in names:
                        names.append(known or tag)
                if problems:
                    errors["tags"] = problems
                else:
                    data["tags"] = names
        return data, errors
