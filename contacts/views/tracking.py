"""Site tracking's pages and public endpoints (docs/tracking.md), in the "tracking" namespace:

- GET  /t/s.js                  the tracking script (public, cached for 5 minutes)
- POST /t/collect               page visits and identify calls from allowed sites (public, CORS, rate-limited);
                                a page visit is queued in Redis, no database work, and written by the drain
- GET/POST /settings/tracking/  Settings → Tracking: on/off, allowed domains, do-not-track, consent, the snippet
- GET  /reports/site-visits/    top pages and top entry pages

The public endpoints never echo input, never say whether an email is known, and answer bad input with a
4xx: 413 over MAX_BODY bytes, 400 for a body that is not a JSON object in UTF-8, 403 from a site not on
the allow-list (or with tracking off), 429 over TRACKING_RATE_PER_MINUTE requests a minute from one IP.
"""

import json
from datetime import timedelta
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from contacts import tracking
from contacts.models import TrackingSettings
from contacts.views.public import client_ip as _client_ip
from contacts.views.public import cors as _cors
from contacts.views.public import read_body
from lifecycle.forms import days_choice
from users.permissions import may_run_marketing

__all__ = ["urlpatterns"]

#: The largest /t/collect body, in bytes.
MAX_BODY = 8 * 1024
DEFAULT_RATE_PER_MINUTE = 120
REPORT_PERIODS = (7, 30, 90)
REPORT_ROWS = 25
_SCRIPT = (Path(__file__).resolve().parent.parent / "tracking.js").read_text()


# --- Public endpoints -------------------------------------------------------------------------------

def _error(message: str, status: int, origin: str | None = None) -> JsonResponse:
    return _cors(JsonResponse({"error": message}, status=status), origin)


@require_GET
def script(request):
    """The tracking script, with the current do-not-track and consent defaults written in."""
    config = TrackingSettings.load()
    body = (_SCRIPT.replace("__LC_HONOUR_DNT__", json.dumps(config.honour_do_not_track))
            .replace("__LC_WAIT_FOR_CONSENT__", json.dumps(config.wait_for_consent)))
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def collect(request):
    """Check the request without touching the database, then count it and queue the visit in one Redis round
    trip (tracking.collect_request); the drain writes visits a second or two later. Only identify calls, and
    visitor keys made before keys were signed, read the database here."""
    config = tracking.tracking_config()
    raw_origin = request.META.get("HTTP_ORIGIN", "")
    allowed = config.enabled and tracking.domain_allowed(tracking.origin_host(raw_origin), config.domains)
    origin = raw_origin if allowed else None
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204 if allowed else 403), origin)
    body = read_body(request, MAX_BODY)
    if body is None:
        return _error("The request body is too large.", 413, origin)
    answer, visit, identify = _checked(request, body, config, allowed, origin)
    limit = getattr(settings, "TRACKING_RATE_PER_MINUTE", DEFAULT_RATE_PER_MINUTE)
    if tracking.collect_request(_client_ip(request), limit=limit, visit=visit):
        response = _error("Too many requests.", 429, origin)
        response["Retry-After"] = "60"
        return response
    if identify is not None:
        visitor = tracking.visitor_identify(*identify)
        if visitor is None:
            return _error("Send a valid email address.", 400, origin)
        # The same answer whether the contact existed or was created: nothing here tells them apart.
        return _cors(JsonResponse({"vid": visitor.key}), origin)
    return answer


def _checked(request, body: bytes, config, allowed: bool, origin: str | None):
    """(the answer, the visit to queue or None, the (key, email) to identify or None), with no side effects."""
    if not config.enabled:
        return _error("Tracking is off.", 403), None, None
    if not allowed:
        return _error("This site may not send tracking data.", 403), None, None
    if config.honour_do_not_track and (request.META.get("HTTP_DNT") == "1" or request.META.get("HTTP_SEC_GPC") == "1"):
        return _cors(HttpResponse(status=204), origin), None, None
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
        return _error("Send a JSON object in UTF-8.", 400, origin), None, None
    if not isinstance(data, dict):
        return _error("Send a JSON object in UTF-8.", 400, origin), None, None
    key = data.get("vid") if isinstance(data.get("vid"), str) else ""
    kind = data.get("type")
    if kind == "page":
        url = tracking.clean_url(data.get("url"))
        if url is None:
            return _error("Send the page's http(s) URL.", 400, origin), None, None
        if not tracking.domain_allowed(tracking.origin_host(url), config.domains):
            return _error("This site may not send tracking data.", 403, origin), None, None
        if not tracking.key_known(key):  # clients never choose keys
            key = tracking.new_key()
        # Title and referrer are cleaned where visits are written (tracking.visits_write), for every entry.
        title, referrer = data.get("title"), data.get("referrer")
        visit = {"key": key, "url": url, "title": title if isinstance(title, str) else "",
                 "referrer": referrer if isinstance(referrer, str) else ""}
        # The key is [A-Za-z0-9_-] only: written out directly (JsonResponse's encoder costs more than the rest).
        answer = HttpResponse(b'{"vid": "' + key.encode() + b'"}', content_type="application/json")
        return _cors(answer, origin), visit, None
    if kind == "identify":
        return None, None, (key, data.get("email"))
    return _error('Send "type": "page" or "identify".', 400, origin), None, None


# --- Settings → Tracking ------------------------------------------------------------------------------

class TrackingSettingsForm(forms.ModelForm):
    class Meta:
        model = TrackingSettings
        fields = ["enabled", "allowed_domains", "honour_do_not_track", "wait_for_consent"]
        labels = {
            "enabled": "Track page visits",
            "allowed_domains": "Allowed domains",
            "honour_do_not_track": "Honour “Do Not Track” and Global Privacy Control",
            "wait_for_consent": "Wait for the site's cookie-consent call before sending anything",
        }
        help_texts = {
            "allowed_domains": "One domain a line, e.g. example.com; its subdomains are allowed too. "
                               "Pages on other domains are not tracked.",
            "wait_for_consent": "The site then calls lifecycle('consent') once the visitor agrees. A single page "
                                "can also ask for this with data-wait-for-consent on the script tag.",
        }
        widgets = {"allowed_domains": forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})}

    def clean_allowed_domains(self):
        domains, bad = [], []
        for line in self.cleaned_data["allowed_domains"].splitlines():
            text = line.strip().lower()
            if not text:
                continue
            host = tracking.origin_host(text) if "://" in text else text.split("/")[0]
            host = (host or "").rstrip(".")
            if host.startswith("*."):
                host = host[2:]
            if tracking.DOMAIN_PATTERN.fullmatch(host or ""):
                if host not in domains:
                    domains.append(host)
            else:
                bad.append(line.strip()[:80])
        if bad:
            raise forms.ValidationError("Not a domain: " + ", ".join(bad) + ". Write domains like example.com.")
        if self.cleaned_data.get("enabled") and not domains:
            raise forms.ValidationError("Add at least one domain, or tracking records nothing.")
        return "\n".join(domains)


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    if not may_run_marketing(request.user):
        return render(request, "contacts/settings_forbidden.html", {
            "title": "Tracking", "heading": "Only admins and marketers can change site tracking",
            "hint": "Ask an admin or a marketer to turn it on or to add your site's domain."}, status=403)
    config = TrackingSettings.load()
    form = TrackingSettingsForm(request.POST or None, instance=config)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Tracking settings saved.")
        return redirect("tracking:settings")
    script_url = settings.SITE_URL + reverse("tracking:script")
    snippet = f'<script async src="{script_url}" data-lifecycle></script>'
    return render(request, "contacts/settings_tracking.html", {
        "title": "Tracking", "form": form, "config": config, "snippet": snippet,
        "consent_snippet": f'<script async src="{script_url}" data-lifecycle data-wait-for-consent></script>',
    }, status=400 if form.errors else 200)


# --- Report -------------------------------------------------------------------------------------------

@login_required
@require_GET
def report(request):
    days = days_choice(request.GET.get("days"), REPORT_PERIODS)
    top_pages, entry_pages = tracking.visits_report(timezone.now() - timedelta(days=days), REPORT_ROWS)
    return render(request, "contacts/site_visits.html", {
        "title": "Site visits", "days": days, "periods": REPORT_PERIODS, "top_pages": top_pages,
        "entry_pages": entry_pages, "enabled": TrackingSettings.load().enabled,
    })


urlpatterns = [
    path("t/s.js", script, name="script"),
    path("t/collect", collect, name="collect"),
    path("settings/tracking/", settings_page, name="settings"),
    path("reports/site-visits/", report, name="report"),
]
