"""My tasks (/contacts/tasks/): the signed-in user's open tasks, overdue first, ticked off in place.

Marking a task done (or open again) is one view for this page and the contact page's tasks panel.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from contacts.models import Contact, Task
from contacts.page_selectors import user_open_tasks
from contacts.services import task_complete
from contacts.views.page_common import contact_changed, page_contact, require_perm, tasks_context
from pipelines.models import Deal
from users.permissions import visible_to

__all__ = ["task_done", "task_list", "urlpatterns"]

PER_PAGE = 50


@login_required
@require_GET
def task_list(request):
    page = Paginator(user_open_tasks(request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "contacts/tasks.html", {"title": "My tasks", "page_obj": page, "now": timezone.now()})


def _may_work_on(task: Task, user) -> bool:
    """Your own tasks, and the tasks of the contacts and deals you may see."""
    if task.assignee_id == user.pk:
        return True
    if task.contact_id and visible_to(Contact.objects.filter(pk=task.contact_id), user).exists():
        return True
    return bool(task.deal_id and visible_to(Deal.objects.filter(pk=task.deal_id), user).exists())


@login_required
@require_POST
def task_done(request, task_pk: int):
    """Tick a task off (done=on) or open it again (no done)."""
    task = get_object_or_404(Task.objects.select_related("contact"), pk=task_pk)
    if not _may_work_on(task, request.user):
        raise Http404("No such task.")
    require_perm(request, "contacts.change_task")
    done = request.POST.get("done") in ("on", "1", "true")
    task = task_complete(task=task, user=request.user, done=done)
    messages.success(request, f"Done: {task.title}." if done else f"Opened again: {task.title}.")
    if not request.htmx:
        back = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
            return redirect(back)
        return redirect("contacts:tasks")
    if request.POST.get("panel") == "contact" and task.contact_id:
        contact = page_contact(request, task.contact_id)
        response = render(request, "contacts/_page_tasks.html",
                          {"contact": contact, **tasks_context(contact, request.user)})
    else:
        response = render(request, "contacts/_page_task_row.html",
                          {"task": task, "now": timezone.now(), "show_contact": True})
    return contact_changed(response)


urlpatterns = [
    path("tasks/", task_list, name="tasks"),
    path("tasks/<int:task_pk>/done/", task_done, name="task_done"),
]
