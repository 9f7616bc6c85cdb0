"""Forms (marketer side) at /forms/ (docs/forms.md): the list, the editor (leadform_editor) and analytics."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from contacts.leadforms.analytics import conversion_rate, forms_totals
from contacts.models import LeadForm
from contacts.views.leadform_analytics import form_analytics
from contacts.views.leadform_editor import form_delete, form_edit, form_fields, form_new, may_edit

__all__ = ["urlpatterns"]

PER_PAGE = 25
LIST_DAYS = 30


@login_required
@require_GET
def form_list(request):
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    forms = LeadForm.objects.all()
    if query:
        forms = forms.filter(name__icontains=query)
    page = Paginator(forms, PER_PAGE).get_page(request.GET.get("page"))
    totals = forms_totals((form.pk for form in page), days=LIST_DAYS)
    rows = []
    for form in page:
        views, submissions = totals.get(form.pk, (0, 0))
        rows.append({"form": form, "views": views, "submissions": submissions,
                     "rate": conversion_rate(views, submissions)})
    return render(request, "contacts/leadform_list.html", {
        "title": "Forms", "rows": rows, "page": page, "query": query, "days": LIST_DAYS,
        "may_edit": may_edit(request.user)})


urlpatterns = [
    path("", form_list, name="list"),
    path("new/", form_new, name="new"),
    path("<int:pk>/", form_edit, name="edit"),
    path("<int:pk>/fields/", form_fields, name="fields"),
    path("<int:pk>/delete/", form_delete, name="delete"),
    path("<int:pk>/analytics/", form_analytics, name="analytics"),
]
