"""/api/v1/notes/ and /api/v1/tasks/: the work people do around contacts and deals.

Notes are seen with their contact (visible_to on the contact's owner); a note's author, or an
admin, may delete it. Tasks are seen by assignee (visible_to on `assignee`): a rep sees their own
and unassigned tasks.
"""

import django_filters
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view

from contacts.api.serializers import NoteSerializer, NoteWriteSerializer, TaskSerializer, TaskWriteSerializer
from contacts.api.views.accounts import OWNER_VALUES, owner_filter
from contacts.api.views.base import ResourceViewSet
from contacts.models import Note, Task
from contacts.services import note_add, note_delete, task_complete, task_create, task_delete, task_update
from users.permissions import has_role, visible_to
from users.roles import Role

__all__ = ["NoteViewSet", "TaskViewSet"]


class NoteFilterSet(django_filters.FilterSet):
    contact = django_filters.NumberFilter(field_name="contact_id", help_text="A contact id.")
    deal = django_filters.NumberFilter(field_name="deal_id", help_text="A deal id.")

    class Meta:
        model = Note
        fields = ["contact", "deal"]


@extend_schema_view(
    list=extend_schema(summary="List notes, newest first"),
    retrieve=extend_schema(summary="Get a note"),
    create=extend_schema(summary="Add a note to a contact", request=NoteWriteSerializer,
                         responses={201: NoteSerializer},
                         description="You are its author. It shows on the contact's timeline."),
    destroy=extend_schema(summary="Delete a note (its author, or an admin)"),
)
@extend_schema(tags=["notes"])
class NoteViewSet(ResourceViewSet):
    serializer_class = NoteSerializer
    input_serializer_class = NoteWriteSerializer
    filterset_class = NoteFilterSet
    ordering = ("-created_at", "-id")
    http_method_names = ["get", "post", "delete", "head", "options"]
    # Whoever may write notes may delete their own; which ones is checked on the note.
    action_permissions = {"destroy": ("contacts.add_note",)}

    def get_queryset(self):
        return visible_to(Note.objects.select_related("contact", "deal", "author"), self.request.user,
                          owner_field="contact__owner")

    def create_object(self, data):
        return note_add(contact=data["contact"], deal=data.get("deal"), body=data["body"], author=self.request.user)

    def delete_object(self, note):
        if note.author_id != self.request.user.pk and not has_role(self.request.user, Role.ADMIN):
            raise PermissionDenied("You may delete only your own notes.")
        note_delete(note=note, user=self.request.user)


class TaskFilterSet(django_filters.FilterSet):
    assignee = django_filters.CharFilter(method="filter_assignee", validators=[OWNER_VALUES],
                                         help_text="A user id, `me` or `none`.")
    done = django_filters.BooleanFilter()
    overdue = django_filters.BooleanFilter(method="filter_overdue", help_text="Open and past its due time.")
    contact = django_filters.NumberFilter(field_name="contact_id", help_text="A contact id.")
    deal = django_filters.NumberFilter(field_name="deal_id", help_text="A deal id.")

    class Meta:
        model = Task
        fields = ["assignee", "done", "overdue", "contact", "deal"]

    def filter_assignee(self, queryset, name, value):
        return owner_filter(queryset, "assignee", value, getattr(self.request, "user", None))

    def filter_overdue(self, queryset, name, value):
        overdue = Q(done=False, due_at__lt=timezone.now())
        return queryset.filter(overdue if value else ~overdue)


@extend_schema_view(
    list=extend_schema(summary="List tasks, soonest due first"),
    retrieve=extend_schema(summary="Get a task"),
    create=extend_schema(summary="Create a task", request=TaskWriteSerializer, responses={201: TaskSerializer},
                         description="It links a contact, a deal or both; it is yours when `assignee` is left out."),
    partial_update=extend_schema(summary="Change a task, or mark it done", request=TaskWriteSerializer,
                                 responses=TaskSerializer,
                                 description="`done: true` completes it (recorded on the contact's timeline); "
                                             "`done: false` opens it again."),
    destroy=extend_schema(summary="Delete a task (its creator or assignee, an admin or a manager)"),
)
@extend_schema(tags=["tasks"])
class TaskViewSet(ResourceViewSet):
    serializer_class = TaskSerializer
    input_serializer_class = TaskWriteSerializer
    filterset_class = TaskFilterSet
    ordering = ("due_at", "id")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # Whoever may write tasks may delete their own; which ones is checked on the task.
    action_permissions = {"destroy": ("contacts.add_task",)}

    def get_queryset(self):
        return visible_to(Task.objects.select_related("assignee", "contact", "deal", "created_by"),
                          self.request.user, owner_field="assignee")

    def create_object(self, data):
        data.pop("done", None)
        data.setdefault("assignee", self.request.user)
        return task_create(created_by=self.request.user, **data)

    @transaction.atomic
    def update_object(self, task, data):
        done = data.pop("done", None)
        if data:
            task = task_update(task=task, **data)
        if done is not None:
            task = task_complete(task=task, user=self.request.user, done=done)
        return task

    def delete_object(self, task):
        task_delete(task=task, user=self.request.user)
