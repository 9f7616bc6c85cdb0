"""Lead forms' public pages and endpoints (docs/forms.md), in the "leadforms_public" namespace:

- GET/POST /f/<key>/            page     the hosted form page (CSRF on; counts a view on GET)
- GET  /f/<key>/embed.js        embed_js the embed script (public, cached 5 minutes)
- GET  /f/<key>/embed/          embed    JSON {html, token} for the embed script (CORS for allowed origins)
- POST /f/<key>/submit/         submit   embed (fetch, JSON answers) and HTML snippet (form post, HTML answers)
- GET  /f/confirm/<token>/      confirm  the double opt-in link

Inactive or unknown forms are 404s; bodies over MAX_BODY are 413; more than the form's rates are 429; cross-
origin requests are accepted only from the form's allowed domains. Answers never tell whether an email existed.
"""

import json
from pathlib import Path
from urllib.parse import parse_qs

from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import render
from django.template.backends.utils import csrf_input as csrf_input_html
from django.urls import path
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from contacts import tracking
from contacts.leadforms import publish
from contacts.leadforms.optin import opt_in_confirm
from contacts.leadforms.stats import form_count
from contacts.leadforms.submit import form_submit
from contacts.models import LeadForm
from contacts.views.public import client_ip, cors, read_body

__all__ = ["urlpatterns"]

#: The largest submission body, in bytes.
MAX_BODY = 32 * 1024
_SCRIPT = (Path(__file__).resolve().parent.parent / "leadform-embed.js").read_text()


def _form(key: str) -> LeadForm:
    form = LeadForm.objects.filter(public_key=key, is_active=True).first() if len(key) <= 32 else None
    if form is None:
        raise Http404("No such form.")
    return form


def _domains(form) -> list[str]:
    return tracking.domain_lines(form.allowed_domains)


def _safe_redirect(form) -> str:
    """The form's redirect URL when its host is allowed, else ""."""
    url = tracking.clean_url(form.redirect_url) if form.redirect_url else None
    return url if url and tracking.domain_allowed(tracking.origin_host(url), _domains(form)) else ""


def _allowed_origin(request, form) -> str | None:
    origin = request.headers.get("Origin", "")
    return origin if tracking.domain_allowed(tracking.origin_host(origin), _domains(form)) else None


@csrf_protect
@require_http_methods(["GET", "POST"])
def page(request, key):
    form = _form(key)
    values, errors, done = {}, {}, False
    if request.method == "POST":
        ok, started = publish.token_read(request.POST.get(publish.TOKEN_FIELD), form.public_key)
        if not ok:
            errors = {"__all__": ["This form has expired. Please reload the page and try again."]}
            status = 400
        else:
            result = form_submit(form, request.POST, ip=client_ip(request), page_url=publish.hosted_url(form),
                                 visitor_key=request.COOKIES.get("lc_vid", ""), started_at=started)
            if result.status == "rate_limited":
                return _html_error(request, form, result.errors, 429)
            if result.ok:
                redirect_to = _safe_redirect(form)
                if redirect_to:
                    return HttpResponseRedirect(redirect_to)
                done, status = True, 200
            else:
                errors, status = result.errors, 400
                values = {k: v for k, v in request.POST.items() if k not in (publish.HONEYPOT, publish.TOKEN_FIELD)}
    else:
        form_count(form.pk, views=1)
        status = 200
    csrf_input = csrf_input_html(request)  # also sets the CSRF cookie
    inner = publish.fields_html(form, token=publish.form_token(form), values=values, errors=errors,
                                csrf_input=csrf_input)
    return render(request, "contacts/leadform_page.html", {"form": form, "inner": inner, "done": done},
                  status=status)


def _html_error(request, form, errors, status):
    return render(request, "contacts/leadform_result.html", {"form": form, "errors": errors, "back": ""},
                  status=status)


@require_GET
def embed_js(request, key):
    _form(key)
    response = HttpResponse(_SCRIPT, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
def embed(request, key):
    form = _form(key)
    origin = _allowed_origin(request, form)
    if origin is None:
        return cors(JsonResponse({"error": "This site may not show this form."}, status=403), None)
    form_count(form.pk, views=1)
    token = publish.form_token(form)
    html = publish.fields_html(form, token=token)
    # The action is on the host that served the embed (SITE_URL in production; the live server in tests).
    action = request.build_absolute_uri(f"/f/{form.public_key}/submit/")
    return cors(JsonResponse({"html": str(html), "token": token, "action": action}), origin, methods="GET, POST")


def _wants_html(request) -> bool:
    return "json" not in request.headers.get("Accept", "") and "json" not in request.content_type


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def submit(request, key):
    form = _form(key)
    origin = _allowed_origin(request, form)
    has_origin = bool(request.headers.get("Origin")) and request.headers.get("Origin") != "null"
    if request.method == "OPTIONS":
        return cors(HttpResponse(status=204 if origin else 403), origin)
    html = _wants_html(request)
    body = read_body(request, MAX_BODY)
    if body is None:
        return _answer(request, form, html, origin, 413, errors={"__all__": ["The request is too large."]})
    if has_origin and origin is None:
        return _answer(request, form, html, None, 403, errors={"__all__": ["This site may not send this form."]})
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _answer(request, form, html, origin, 400, errors={"__all__": ["Send the form in UTF-8."]})
    if "json" in request.content_type:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            return _answer(request, form, html, origin, 400, errors={"__all__": ["Send a JSON object."]})
    else:
        data = QueryDict(mutable=True)
        try:
            fields = parse_qs(text, keep_blank_values=True, max_num_fields=100)
        except ValueError:  # more fields than any form has
            return _answer(request, form, html, origin, 400, errors={"__all__": ["Too many fields were sent."]})
        for name, items in fields.items():
            data.setlist(name, items)
    ok, started = publish.token_read(data.get(publish.TOKEN_FIELD), form.public_key)
    if not ok:
        return _answer(request, form, html, origin, 400,
                       errors={"__all__": ["This form has expired. Please reload the page and try again."]})
    page_url = data.get("lc_page", "") if isinstance(data.get("lc_page", ""), str) else ""
    visitor = data.get("lc_vid", "") if isinstance(data.get("lc_vid", ""), str) else ""
    result = form_submit(form, data, ip=client_ip(request), page_url=page_url, visitor_key=visitor,
                         started_at=started)
    if result.status == "rate_limited":
        response = _answer(request, form, html, origin, 429, errors=result.errors)
        response["Retry-After"] = "60"
        return response
    if not result.ok:
        return _answer(request, form, html, origin, 400, errors=result.errors)
    return _answer(request, form, html, origin, 200)


def _answer(request, form, html: bool, origin, status, errors=None):
    redirect_to = _safe_redirect(form) if status == 200 else ""
    if html:
        if redirect_to:
            return HttpResponseRedirect(redirect_to)
        back = request.headers.get("Referer", "")
        back = back if tracking.domain_allowed(tracking.origin_host(back), _domains(form)) else ""
        response = render(request, "contacts/leadform_result.html",
                          {"form": form, "errors": errors or {}, "back": back}, status=status)
        response["Cache-Control"] = "no-store"
        return response
    if status == 200:
        payload = {"ok": True, "message": form.success_message, "redirect": redirect_to}
    else:
        payload = {"ok": False, "errors": errors or {}}
    return cors(JsonResponse(payload, status=status), origin, methods="GET, POST")


@require_GET
def confirm(request, token):
    request_row = opt_in_confirm(token) if len(token) <= 300 else None
    if request_row is None:
        return render(request, "contacts/leadform_confirm.html", {"ok": False}, status=400)
    return render(request, "contacts/leadform_confirm.html", {"ok": True})


urlpatterns = [
    path("f/confirm/<str:token>/", confirm, name="confirm"),
    path("f/<str:key>/", page, name="page"),
    path("f/<str:key>/embed.js", embed_js, name="embed_js"),
    path("f/<str:key>/embed/", embed, name="embed"),
    path("f/<str:key>/submit/", submit, name="submit"),
]
