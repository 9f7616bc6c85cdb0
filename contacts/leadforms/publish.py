"""Where and how a lead form is published (docs/forms.md): its hosted page, the embed script tag, the plain HTML.

    hosted_url(form)     -> "https://crm.example.com/f/<public_key>/"            (absolute, from settings.SITE_URL)
    embed_snippet(form)  -> '<script async src=".../f/<key>/embed.js"></script>'  (paste where the form goes)
    html_snippet(form)   -> '<form method="post" action=".../f/<key>/submit/">...</form>'  (works with JS off)

Tokens: every rendered form carries a signed token (`lc_token`) holding the form's key and, for a render, the
render time (so the minimum fill time can be checked). The HTML snippet's token has no render time.

    form_token(form, rendered=True) -> str
    token_read(token, public_key) -> (ok: bool, rendered_at: float | None)

All markup is built with format_html/escape: only our own generated HTML, every value escaped.
"""

import time

from django.conf import settings
from django.core import signing
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

__all__ = ["HONEYPOT", "TOKEN_FIELD", "embed_snippet", "fields_html", "form_token", "hosted_url", "html_snippet",
           "token_read"]

#: The hidden input bots fill in and people never see.
HONEYPOT = "lc_hp"
#: The hidden input carrying the signed token.
TOKEN_FIELD = "lc_token"
_SALT = "contacts.leadforms.token"
#: How long a rendered form's token stays valid (a snippet token does not expire: it is pasted once).
RENDER_TOKEN_MAX_AGE = 24 * 3600


def _url(form, suffix: str = "") -> str:
    return f"{settings.SITE_URL}/f/{form.public_key}/{suffix}"


def hosted_url(form) -> str:
    """The absolute URL of the form's hosted page."""
    return _url(form)


def submit_url(form) -> str:
    return _url(form, "submit/")


def form_token(form, *, rendered: bool = True) -> str:
    """A signed token for this form: with the render time for a render, without it for the HTML snippet."""
    payload = {"k": form.public_key, "t": round(time.time(), 3) if rendered else None}
    return signing.dumps(payload, salt=_SALT, compress=True)


def token_read(token, public_key: str) -> tuple[bool, float | None]:
    """(valid, render time or None). A render token older than RENDER_TOKEN_MAX_AGE is invalid."""
    if not isinstance(token, str) or not token or len(token) > 500:
        return False, None
    try:
        payload = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return False, None
    if not isinstance(payload, dict) or payload.get("k") != public_key:
        return False, None
    rendered_at = payload.get("t")
    if rendered_at is None:
        return True, None
    if not isinstance(rendered_at, int | float) or time.time() - rendered_at > RENDER_TOKEN_MAX_AGE:
        return False, None
    return True, float(rendered_at)


_INPUT_TYPES = {"email": "email", "phone": "tel"}
_AUTOCOMPLETE = {"email": "email", "first_name": "given-name", "last_name": "family-name", "phone": "tel",
                 "title": "organization-title"}


def _field_html(field, value: str = "", errors=()) -> SafeString:
    name = field.target
    ident = f"lc-{field.form.public_key}-{name.replace('.', '-')}"
    input_type = _INPUT_TYPES.get(name, "text")
    described = f"{ident}-help" if field.help_text else ""
    return format_html(
        '<div class="lc-field" data-lc-field="{name}">'
        '<label class="lc-label" for="{ident}">{label}{star}</label>'
        '<input class="lc-input" type="{type}" id="{ident}" name="{name}" value="{value}"{placeholder}'
        '{autocomplete}{required}{described} maxlength="500">'
        "{help}"
        '<div class="lc-errors" data-lc-errors="{name}">{errors}</div>'
        "</div>",
        name=name, ident=ident, label=field.label, type=input_type, value=value,
        star=SafeString(' <span class="lc-required" aria-hidden="true">*</span>') if field.required else "",
        placeholder=format_html(' placeholder="{}"', field.placeholder) if field.placeholder else "",
        autocomplete=format_html(' autocomplete="{}"', _AUTOCOMPLETE[name]) if name in _AUTOCOMPLETE else "",
        required=SafeString(" required") if field.required else "",
        described=format_html(' aria-describedby="{}"', described) if described else "",
        help=format_html('<small class="lc-help" id="{}">{}</small>', described, field.help_text)
        if field.help_text else "",
        errors=format_html_join("", '<p class="lc-error">{}</p>', ((e,) for e in errors)),
    )


def fields_html(form, *, token: str, values=None, errors=None, csrf_input: str = "") -> SafeString:
    """The inside of the <form>: fields, consent checkbox, honeypot, token, submit button."""
    values, errors = values or {}, errors or {}
    parts = [format_html('<div class="lc-errors lc-form-errors" data-lc-errors="__all__">{}</div>',
                         format_html_join("", '<p class="lc-error">{}</p>', ((e,) for e in errors.get("__all__", ()))))]
    if form.title:
        parts.append(format_html('<h2 class="lc-title">{}</h2>', form.title))
    if form.intro:
        parts.append(format_html('<p class="lc-intro">{}</p>', form.intro))
    for field in form.fields.all():
        value = values.get(field.target, "")
        parts.append(_field_html(field, value if isinstance(value, str) else "", errors.get(field.target, ())))
    if form.consent_text:
        ident = f"lc-{form.public_key}-consent"
        parts.append(format_html(
            '<div class="lc-field lc-consent" data-lc-field="consent">'
            '<input class="lc-checkbox" type="checkbox" id="{}" name="consent" value="yes" required{}>'
            '<label class="lc-label" for="{}">{}</label>'
            '<div class="lc-errors" data-lc-errors="consent">{}</div></div>',
            ident, SafeString(" checked") if values.get("consent") else "", ident, form.consent_text,
            format_html_join("", '<p class="lc-error">{}</p>', ((e,) for e in errors.get("consent", ())))))
    parts.append(format_html(
        '<div class="lc-hp" aria-hidden="true"><label>Leave this empty'
        '<input type="text" name="{}" value="" tabindex="-1" autocomplete="off"></label></div>', HONEYPOT))
    parts.append(format_html('<input type="hidden" name="{}" value="{}">', TOKEN_FIELD, token))
    if csrf_input:  # the {% csrf_token %} markup of the hosted page (already safe)
        parts.append(csrf_input)
    parts.append(format_html('<button class="lc-submit" type="submit">{}</button>', form.submit_text or "Submit"))
    return format_html_join("", "{}", ((part,) for part in parts))


def embed_snippet(form) -> str:
    """The script tag to paste where the form should appear (data-target="id" to put it in another element)."""
    return format_html('<script async src="{}" data-lifecycle-form></script>', _url(form, "embed.js"))


def html_snippet(form) -> str:
    """A plain <form> posting to the submit endpoint: works with JavaScript off. Hide `.lc-hp` in your CSS."""
    inner = fields_html(form, token=form_token(form, rendered=False))
    return format_html(
        '<style>.lc-hp{{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}}</style>\n'
        '<form class="lc-form" method="post" action="{}" accept-charset="utf-8">{}</form>', submit_url(form), inner)
