from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from lifecycle import health
from lifecycle.selectors import dashboard_summary


@login_required
def dashboard(request):
    summary = dashboard_summary(request.user)
    return render(request, "lifecycle/dashboard.html", {"title": "Dashboard", "summary": summary})


@login_required
def reports(request):
    return render(request, "placeholder.html", {
        "title": "Reports",
        "coming": "Lifecycle analysis (counts per stage, forward and backward moves, time in stage) "
                  "and pipeline reports will appear here.",
    })


@never_cache
def healthz(request):
    report = health.status()
    return JsonResponse(report, status=200 if report["ok"] else 503)
