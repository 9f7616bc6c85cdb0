"""Read-only admin views of what the public endpoints store: contacts, form submissions, visitors and page visits.

For support staff looking into a record. Changes go through the app's pages and services (they record events and
keep the timeline true), so the admin can look but not add, change or delete. Everything is shown escaped, as the
admin always does; tests/security feeds hostile payloads through /f/ and /t/ and opens these pages.
"""

from django.contrib import admin
from django.core.paginator import EmptyPage, Paginator
from django.db import models
from django.utils.functional import cached_property

from contacts.filters import search_contacts
from contacts.models import Contact, LeadForm, LeadFormSubmission, PageVisit, Visitor
from contacts.selectors import rows_count


class EstimatedCountPaginator(Paginator):
    """The page count of a list of millions of visits or contacts from the planner's estimate, not COUNT(*) on
    every page view (contacts.selectors.rows_count: exact below 10,000 rows)."""

    @cached_property
    def count(self) -> int:
        return rows_count(self.object_list)

    def validate_number(self, number) -> int:
        """Any page from 1 on: past an estimate that ran short there may still be rows (past the end, an empty
        page), where Django would send the admin back to page 1 with its filters dropped."""
        try:
            return super().validate_number(number)
        except EmptyPage:
            if int(number) < 1:
                raise
            return int(number)

    def page(self, number):
        """A whole page even where an estimate ran short (Django would cut the slice at `count`)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return self._get_page(self.object_list[bottom:bottom + self.per_page], number, self)


class ReadOnlyAdmin(admin.ModelAdmin):
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False  # no second count, of the whole table

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("email", "first_name", "last_name", "lifecycle_stage", "owner", "created_at")
    search_fields = ("search",)  # shows the search box; get_search_results does the searching
    search_help_text = "Part of the name, email or company name, in any case."

    def get_search_results(self, request, queryset, search_term):
        """The contact list's search, served by the trigram indexes. The admin's own search_fields would compare
        UPPER(email) LIKE '%…%', which reads every contact (0.5 s at 1m, before the page's own query)."""
        return search_contacts(queryset, search_term), False
    list_select_related = ("lifecycle_stage", "owner")
    exclude = ("fields",)
    readonly_fields = ("custom_fields",)

    @admin.display(description="Custom fields")
    def custom_fields(self, contact: Contact) -> str:
        return ", ".join(f"{key}: {value}" for key, value in sorted((contact.fields or {}).items()))


@admin.register(LeadForm)
class LeadFormAdmin(ReadOnlyAdmin):
    list_display = ("name", "lead_magnet", "is_active", "created_at")
    search_fields = ("name",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(LeadFormSubmission)
class LeadFormSubmissionAdmin(ReadOnlyAdmin):
    list_display = ("submitted_at", "form", "contact", "page_url", "ip_address")
    list_select_related = ("form", "contact")
    list_filter = ("form",)


@admin.register(Visitor)
class VisitorAdmin(ReadOnlyAdmin):
    list_display = ("key", "contact", "first_seen_at", "last_seen_at")
    list_select_related = ("contact",)


@admin.register(PageVisit)
class PageVisitAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "url", "title", "referrer", "is_entry", "contact")
    list_select_related = ("contact",)
