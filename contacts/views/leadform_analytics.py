"""Form analytics at /forms/<pk>/analytics/ (docs/forms.md, "Form analytics"); the reads are in
contacts.leadforms.analytics.

A form's views, submissions, conversion rate and rejected submissions for the last 7, 30 or 90 days (cards, a
chart and the same numbers in a table), and its latest submissions, 25 a page. Whoever may see the form list may
see this page.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from contacts.leadforms.analytics import form_days, submission_rows
from contacts.leadforms.publish import hosted_url
from contacts.models import LeadForm, LeadFormSubmission
from contacts.views.leadform_editor import may_edit
from lifecycle.forms import days_choice

__all__ = ["PERIODS", "PER_PAGE", "form_analytics"]

PERIODS = (7, 30, 90)
PER_PAGE = 25


@login_required
@require_GET
def form_analytics(request, pk: int):
    form = get_object_or_404(LeadForm, pk=pk)
    days = days_choice(request.GET.get("days"), PERIODS)
    period = form_days(form, days=days)
    submissions = LeadFormSubmission.objects.filter(form=form).select_related("contact").order_by("-submitted_at",
                                                                                                    "-id")
    page = Paginator(submissions, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "contacts/leadform_analytics.html", {
        "title": f"{form.name}: analytics", "lead_form": form, "days": days, "periods": PERIODS, "period": period,
        "chart": period.chart(), "page": page, "rows": submission_rows(form, page.object_list, user=request.user),
        "hosted_url": hosted_url(form), "may_edit": may_edit(request.user),
    })
