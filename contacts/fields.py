"""Custom field values: checked and converted by type before they are stored in Contact.fields.

Values are stored as JSON the database can compare: numbers and money as JSON numbers, dates as
ISO strings ("2026-11-22", which sort as dates), booleans as true/false, choices as the option's
exact spelling, multiple choices as a list. `None` clears a value.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from contacts.models import CustomField

__all__ = ["clean_field_value", "clean_field_values", "custom_fields_by_key"]

MAX_TEXT = 2000
TRUE = {"true", "yes", "y", "1", "on"}
FALSE = {"false", "no", "n", "0", "off", ""}
_url = URLValidator(schemes=["http", "https"])


def custom_fields_by_key(object: str = CustomField.Object.CONTACT) -> dict[str, CustomField]:
    """The custom fields of contacts (or of deals), by key."""
    return {field.key: field for field in CustomField.objects.filter(object=object)}


def _number(value) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError("Enter a number, not true or false.")
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ValidationError(f"“{value}” is not a number.") from None
    else:
        raise ValidationError("Enter a number.")
    if not number.is_finite():
        raise ValidationError("Enter a finite number.")
    return number


def _json_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def _choices(field: CustomField, values: list) -> list[str]:
    canonical = {str(choice).casefold(): choice for choice in field.choices}
    picked = []
    for value in values:
        if not isinstance(value, str):
            raise ValidationError("Each choice must be a string.")
        match = canonical.get(value.strip().casefold())
        if match is None:
            options = ", ".join(field.choices) or "(none defined)"
            raise ValidationError(f"“{value}” is not one of the options: {options}.")
        if match not in picked:
            picked.append(match)
    return picked


def clean_field_value(field: CustomField, value):
    """The value to store for `field`, or ValidationError with a message a person can act on."""
    if value is None or (isinstance(value, str) and not value.strip() and field.type != CustomField.Type.BOOLEAN):
        return None
    kind = field.type
    if kind == CustomField.Type.TEXT:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValidationError("Enter text.")
        text = str(value).strip()
        if len(text) > MAX_TEXT:
            raise ValidationError(f"Keep it under {MAX_TEXT} characters.")
        return text
    if kind == CustomField.Type.NUMBER:
        return _json_number(_number(value))
    if kind == CustomField.Type.MONEY:
        amount = _number(value)
        if amount.as_tuple().exponent < -2:
            raise ValidationError("Use at most 2 decimal places for money.")
        return _json_number(amount)
    if kind == CustomField.Type.DATE:
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip()[:10]).isoformat()
            except ValueError:
                raise ValidationError(f"“{value}” is not a date; use YYYY-MM-DD.") from None
        raise ValidationError("Enter a date as YYYY-MM-DD.")
    if kind == CustomField.Type.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str | int) and str(value).strip().lower() in TRUE | FALSE:
            return str(value).strip().lower() in TRUE
        raise ValidationError("Enter true or false (yes/no).")
    if kind == CustomField.Type.CHOICE:
        return _choices(field, [value])[0]
    if kind == CustomField.Type.MULTI_CHOICE:
        if isinstance(value, str):
            value = [part for part in value.replace(";", ",").split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            raise ValidationError("Enter a list of options.")
        return _choices(field, list(value)) or None
    if kind == CustomField.Type.URL:
        if not isinstance(value, str):
            raise ValidationError("Enter a URL.")
        url = value.strip()
        _url(url)
        return url
    raise ValidationError(f"Unknown field type {kind}.")  # pragma: no cover - the choices forbid it


def clean_field_values(values, definitions: dict[str, CustomField]) -> tuple[dict, dict[str, list[str]]]:
    """Check a {key: value} mapping. Returns (cleaned values, errors by key); None values mean "clear"."""
    if not isinstance(values, dict):
        return {}, {"fields": ['Send custom fields as an object, e.g. {"industry": "SaaS"}.']}
    cleaned, errors = {}, {}
    for key, value in values.items():
        field = definitions.get(key)
        if field is None:
            known = ", ".join(sorted(definitions)) or "none yet"
            errors[key] = [f"There is no custom field “{key}”. Known fields: {known}."]
            continue
        try:
            cleaned[key] = clean_field_value(field, value)
        except ValidationError as error:
            errors[key] = list(error.messages)
    return cleaned, errors
