"""Import contacts from a CSV or Excel file: upload, map the columns, watch the progress, read the report.

/contacts/import/               the import history, and the way to start one
/contacts/import/new/           upload a file
/contacts/import/<id>/map/      preview, map columns, choose the mode, tags and list; start
/contacts/import/<id>/          progress bar (htmx polls .../progress/ every second), then the report
/contacts/import/<id>/failed.csv  the failed rows, streamed

Marketers, managers and admins may import (contacts.imports.can_import); anyone else gets a 403 page.
Each sees the imports of the people whose contacts they see (users.permissions.visible_to).
"""

from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods

from contacts import imports
from contacts.csvutil import csv_stream
from contacts.models import ContactList, ImportJob
from users.permissions import visible_to

__all__ = ["ImportOptionsForm", "ImportUploadForm", "urlpatterns"]

FAILED_ROWS_SHOWN = 100
PER_PAGE = 25


def importer_required(view):
    """Signed in and allowed to import; anyone else gets a 403 page that says who can."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not imports.can_import(request.user):
            return render(request, "contacts/import_forbidden.html", {"title": "Import contacts"}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _jobs(user):
    return visible_to(ImportJob.objects.all(), user, owner_field="created_by")


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or Excel file",
        error_messages={"empty": imports.EMPTY_FILE, "required": "Choose a CSV or Excel file to import."},
        help_text=f"A CSV (.csv) or Excel (.xlsx) file up to {imports.MAX_FILE_BYTES // 2**20} MB. Its first row "
                  "names the columns; each row below it is one contact, with an email address.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,text/csv,"
                                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}),
    )


class ImportOptionsForm(forms.Form):
    """One "maps to" choice per column of the file, then the mode, the tags and the list."""

    mode = forms.ChoiceField(choices=ImportJob.Mode.choices, initial=ImportJob.Mode.CREATE_AND_UPDATE,
                             widget=forms.RadioSelect, label="Contacts already in Lifecycle")
    tags = forms.CharField(required=False, max_length=1000, label="Tags to add",
                           help_text="Comma separated, e.g. “webinar 2026, partner”. New tags are created.")
    contact_list = forms.ModelChoiceField(queryset=ContactList.objects.all(), required=False, label="Add to list",
                                          empty_label="No list")

    def __init__(self, data=None, *, headers: list[str], mapping: dict[str, str], targets: list[tuple[str, str]]):
        super().__init__(data)
        self.headers = headers
        self.targets = targets
        choices = [("", "Don’t import")] + [(value, label) for value, label in targets]
        for i, header in enumerate(headers):
            self.fields[f"column_{i}"] = forms.ChoiceField(choices=choices, required=False, label=header,
                                                           initial=mapping.get(header, ""))

    def column_fields(self):
        return [self[f"column_{i}"] for i in range(len(self.headers))]

    def clean_tags(self):
        return imports.tag_names(self.cleaned_data["tags"])

    def clean(self):
        cleaned = super().clean()
        general, by_header = imports.mapping_errors(self.mapping(), self.targets)
        for i, header in enumerate(self.headers):
            if header in by_header:
                self.add_error(f"column_{i}", by_header[header])
        for problem in general:
            self.add_error(None, problem)
        return cleaned

    def mapping(self) -> dict[str, str]:
        data = getattr(self, "cleaned_data", {})
        return {header: data.get(f"column_{i}") or "" for i, header in enumerate(self.headers)}


@importer_required
@require_GET
def import_list(request):
    jobs = _jobs(request.user).select_related("created_by", "list")
    page = Paginator(jobs, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "contacts/import_list.html", {"title": "Imports", "page": page})


@importer_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.import_create(file=form.cleaned_data["file"], user=request.user)
        except imports.ImportFileError as error:
            form.add_error("file", str(error))
        else:
            return redirect("contacts:import_map", pk=job.pk)
    status = 400 if form.errors else 200
    return render(request, "contacts/import_upload.html", {"title": "Import contacts", "form": form}, status=status)


@importer_required
@require_http_methods(["GET", "POST"])
def import_map(request, pk: int):
    job = get_object_or_404(_jobs(request.user), pk=pk)
    if job.status != ImportJob.Status.DRAFT:
        return redirect("contacts:import_detail", pk=job.pk)
    try:
        preview = imports.import_preview(job)
    except imports.ImportFileError as error:
        return render(request, "contacts/import_upload.html", {
            "title": "Import contacts", "form": ImportUploadForm(), "file_error": str(error)}, status=410)
    form = ImportOptionsForm(request.POST or None, headers=preview.headers, mapping=job.mapping,
                             targets=imports.mapping_targets())
    if request.method == "POST" and form.is_valid():
        try:
            imports.import_start(job=job, mapping=form.mapping(), mode=form.cleaned_data["mode"],
                                 tags=form.cleaned_data["tags"], contact_list=form.cleaned_data["contact_list"])
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                return redirect("contacts:import_detail", pk=job.pk)  # already started by a first click
            for name, problems in error.error_dict.items():
                form.add_error(name if name in form.fields else None, problems)
        else:
            return redirect("contacts:import_detail", pk=job.pk)
    # Each column with a few of its values, so a person can tell what it holds.
    columns = [(column, [cells[i] for _number, cells in preview.rows if cells[i]][:3])
               for i, column in enumerate(form.column_fields())]
    return render(request, "contacts/import_map.html", {
        "title": "Map columns", "job": job, "preview": preview, "form": form, "columns": columns,
    }, status=400 if form.errors else 200)


def _report_context(job: ImportJob) -> dict:
    context = {"job": job, "finished": job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)}
    if context["finished"]:
        context["failed_rows"] = list(job.row_errors.all()[:FAILED_ROWS_SHOWN])
    return context


@importer_required
@require_GET
def import_detail(request, pk: int):
    job = get_object_or_404(_jobs(request.user).select_related("created_by", "list"), pk=pk)
    if job.status == ImportJob.Status.DRAFT:
        return redirect("contacts:import_map", pk=job.pk)
    return render(request, "contacts/import_detail.html", {"title": f"Import of {job.filename}",
                                                           **_report_context(job)})


@importer_required
@require_GET
def import_progress(request, pk: int):
    """The progress bar alone, for htmx polling; once the import ends, the report, which polls no more."""
    job = get_object_or_404(_jobs(request.user).select_related("created_by", "list"), pk=pk)
    return render(request, "contacts/import_detail.html#progress", _report_context(job))


@importer_required
@require_GET
def import_failed_rows(request, pk: int):
    job = get_object_or_404(_jobs(request.user), pk=pk)
    rows = job.row_errors.order_by("row_number", "id").values_list("row_number", "email", "reason")
    response = StreamingHttpResponse(csv_stream(_with_header(rows), bom=True), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-failed-rows.csv"'
    return response


def _with_header(rows):
    yield ("Row", "Email", "Reason")
    yield from rows.iterator(chunk_size=2000)


urlpatterns = [
    path("import/", import_list, name="import_list"),
    path("import/new/", import_upload, name="import_upload"),
    path("import/<int:pk>/", import_detail, name="import_detail"),
    path("import/<int:pk>/map/", import_map, name="import_map"),
    path("import/<int:pk>/progress/", import_progress, name="import_progress"),
    path("import/<int:pk>/failed.csv", import_failed_rows, name="import_failed_rows"),
]
