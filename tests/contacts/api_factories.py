"""factory-boy factories for the contacts API tests (rows made directly: the services have tests of their own)."""

from datetime import timedelta

import factory
from django.utils import timezone

from contacts.models import Account, Contact, ContactList, CustomField, Event, Note, Tag, Task

__all__ = ["AccountFactory", "ContactFactory", "ContactListFactory", "CustomFieldFactory", "EventFactory",
           "NoteFactory", "TagFactory", "TaskFactory"]


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.add(*[TagFactory(name=name) if isinstance(name, str) else name for name in extracted])


class ContactListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactList

    name = factory.Sequence(lambda n: f"List {n}")


class CustomFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomField
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda f: f.key.replace("_", " ").title())
    type = CustomField.Type.TEXT


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    contact = factory.SubFactory(ContactFactory)
    type = "page_visited"
    channel = "website"
    occurred_at = factory.Sequence(lambda n: timezone.now() - timedelta(hours=n))


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    contact = factory.SubFactory(ContactFactory)
    body = factory.Sequence(lambda n: f"Note {n}")


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"Task {n}")
    contact = factory.SubFactory(ContactFactory)
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
