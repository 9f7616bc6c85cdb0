"""/api/v1/ routes of the contacts app (URL names "contacts-api:<basename>-<action>")."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from contacts.api import views

app_name = "contacts-api"

router = SimpleRouter()
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("accounts", views.AccountViewSet, basename="account")
router.register("lists", views.ContactListViewSet, basename="list")
router.register("tags", views.TagViewSet, basename="tag")
router.register("fields", views.CustomFieldViewSet, basename="field")
router.register("notes", views.NoteViewSet, basename="note")
router.register("tasks", views.TaskViewSet, basename="task")

urlpatterns = [
    *router.urls,
    path("events/", views.EventView.as_view(), name="event-ingest"),
    path("events/bulk/", views.EventBulkView.as_view(), name="event-bulk"),
    path("event-types/", views.EventTypeListView.as_view(), name="event-type-list"),
]
