"""The contacts API's views, one module per group of resources."""

from contacts.api.views.accounts import AccountViewSet
from contacts.api.views.catalog import ContactListViewSet, CustomFieldViewSet, TagViewSet
from contacts.api.views.contacts import ContactViewSet
from contacts.api.views.events import EventBulkView, EventTypeListView, EventView
from contacts.api.views.work import NoteViewSet, TaskViewSet

__all__ = ["AccountViewSet", "ContactListViewSet", "ContactViewSet", "CustomFieldViewSet", "EventBulkView",
           "EventTypeListView", "EventView", "NoteViewSet", "TagViewSet", "TaskViewSet"]
