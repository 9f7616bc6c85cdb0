from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from lifecycle import health
from lifecycle.forms import PERIOD_DAYS, OverviewPeriodForm
from lifecycle.selectors import dashboard_summary, lifecycle_overview


@login_required
def dashboard(request):
    summary = dashboard_summary(request.user)
    return render(request, "lifecycle/dashboard.html", {"title": "Dashboard", "summary": summary})


@login_required
@require_GET
def reports(request):
    """The lifecycle overview: contacts per stage now, and moves into each stage in a chosen period."""
    form = OverviewPeriodForm(request.GET)
    period = form.period()
    overview = lifecycle_overview(request.user, period.start, period.end)
    return render(request, "lifecycle/overview.html", {
        "title": "Reports", "form": form, "period": period, "period_days": PERIOD_DAYS, "overview": overview,
    }, status=400 if form.errors else 200)


@never_cache
def healthz(request):
    report = health.status()
    return JsonResponse(report, status=200 if report["ok"] else 503)
