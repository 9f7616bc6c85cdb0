from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower, Now

__all__ = [
    "Account", "Consent", "Contact", "ContactList", "CustomField", "Event", "EventType", "ImportJob", "ImportRowError",
    "LeadForm", "LeadFormDay", "LeadFormField", "LeadFormSubmission", "Note", "OptInRequest", "PageVisit",
    "Subscription", "Tag", "Task", "TrackingSettings", "Visitor",
]


class Account(models.Model):
    """A company. Accounts form a hierarchy through `parent`."""

    class Size(models.TextChoices):
        S1 = "1-10", "1–10 employees"
        S2 = "11-50", "11–50 employees"
        S3 = "51-200", "51–200 employees"
        S4 = "201-1000", "201–1,000 employees"
        S5 = "1001-5000", "1,001–5,000 employees"
        S6 = "5001+", "5,001+ employees"

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True, db_index=True, help_text="e.g. acme.com, without www.")
    industry = models.CharField(max_length=100, blank=True)
    size = models.CharField(max_length=10, blank=True, choices=Size.choices, default="", db_default="")
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True,
                                         validators=[MinValueValidator(0)])
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="accounts")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            GinIndex(OpClass(Lower("name"), name="gin_trgm_ops"), name="account_name_trgm"),  # search
            models.Index(Lower("name"), name="account_name_lower"),  # exact matches: imports' company column
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="tag_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class CustomFieldQuerySet(models.QuerySet):
    def for_contacts(self):
        return self.filter(object=CustomField.Object.CONTACT)

    def for_deals(self):
        return self.filter(object=CustomField.Object.DEAL)


class CustomField(models.Model):
    """A typed field an admin adds to contacts or deals. Values live in Contact.fields or Deal.fields under `key`."""

    class Object(models.TextChoices):
        CONTACT = "contact", "Contacts"
        DEAL = "deal", "Deals"

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        MONEY = "money", "Money"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes / no"
        CHOICE = "choice", "Single choice"
        MULTI_CHOICE = "multi_choice", "Multiple choice"
        URL = "url", "URL"

    object = models.CharField(max_length=8, choices=Object.choices, default=Object.CONTACT,
                              db_default=Object.CONTACT, help_text="What the field belongs to.")
    key = models.SlugField(max_length=50, help_text="The name in the API, CSV headers and filters.")
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=12, choices=Type.choices, default=Type.TEXT)
    choices = models.JSONField(default=list, blank=True, help_text="The options of a single or multiple choice.")
    help_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CustomFieldQuerySet.as_manager()

    class Meta:
        ordering = ["position", "label"]
        constraints = [models.UniqueConstraint(fields=["object", "key"], name="custom_field_key_unique")]

    def __str__(self) -> str:
        return self.label


class ContactQuerySet(models.QuerySet):
    def with_email(self, email: str) -> "ContactQuerySet":
        """The contact with this address, in any case, found by the lower(email) unique index. (Django's
        email__iexact compares UPPER(email) instead, which no index serves: 0.4–0.7 s a lookup at 1m contacts.)"""
        return self.alias(email_lower=Lower("email")).filter(email_lower=Lower(models.Value(email)))


class Contact(models.Model):
    """A person. Email is stored lower-cased and unique (look one up with `Contact.objects.with_email`)."""

    class LeadStatus(models.TextChoices):
        NEW = "new", "New"
        MQL = "mql", "MQL"
        SQL = "sql", "SQL"
        CUSTOMER = "customer", "Customer"
        DISQUALIFIED = "disqualified", "Disqualified"

    class Source(models.TextChoices):
        FORM = "form", "Form"
        IMPORT = "import", "Import"
        API = "api", "API"
        MANUAL = "manual", "Manual"

    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    title = models.CharField(max_length=150, blank=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="contacts")
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    lifecycle_stage = models.ForeignKey("lifecycle.LifecycleStage", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="contacts")
    lead_status = models.CharField(max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW,
                                   db_default=LeadStatus.NEW)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL,
                              db_default=Source.MANUAL)
    #: Which lead magnet, form or file brought the contact in, e.g. "CRM playbook ebook".
    source_detail = models.CharField("lead magnet", max_length=200, blank=True, default="", db_default="")
    #: Custom field values by CustomField.key, validated by contacts.fields.
    fields = models.JSONField(default=dict, blank=True, db_default=models.Value({}, output_field=models.JSONField()))
    #: Lower-cased "first last email" for the trigram search index; kept by the database.
    search = models.GeneratedField(
        # `||` rather than concat_ws(): a generated column needs an immutable expression.
        expression=models.Func(models.F("first_name"), models.F("last_name"), models.F("email"),
                               template="LOWER(%(expressions)s)", arg_joiner=" || ' ' || "),
        output_field=models.TextField(), db_persist=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(Lower("email"), name="contact_email_ci_unique")]
        indexes = [
            GinIndex(OpClass("search", name="gin_trgm_ops"), name="contact_search_trgm"),
            GinIndex(OpClass("fields", name="jsonb_path_ops"), name="contact_fields_gin"),
            models.Index(fields=["owner", "-created_at"], name="contact_owner_created"),
            models.Index(fields=["lifecycle_stage", "-created_at"], name="contact_stage_created"),
            models.Index(fields=["lead_status", "-created_at"], name="contact_status_created"),
            # The list's sorts: newest activity first with the never-active last, by name, by email.
            models.Index(models.F("last_activity_at").desc(nulls_last=True), models.F("id").desc(),
                         name="contact_last_activity"),
            models.Index(fields=["last_name", "first_name", "id"], name="contact_name_sort"),
            models.Index(fields=["email", "id"], name="contact_email_sort"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def stage_at(self, when):
        """The lifecycle stage the contact was in at `when` (None before their first stage)."""
        transition = self.stage_transitions.filter(occurred_at__lte=when).order_by("-occurred_at", "-id").first()
        return transition.to_stage if transition else None


class Channel(models.TextChoices):
    """Where a touchpoint happened (DOMAIN.md §2)."""

    WEBSITE = "website", "Website"
    EMAIL = "email", "Email"
    FORM = "form", "Form"
    SALES_CALL = "sales_call", "Sales call"
    LIVE_CHAT = "live_chat", "Live chat"
    WEBINAR = "webinar", "Webinar"
    SMS = "sms", "SMS"
    EVENT = "event", "Event"
    SUPPORT = "support", "Support"
    SOCIAL = "social", "Social"
    PAID = "paid", "Pay-per-click"
    DIRECT_MAIL = "direct_mail", "Direct mail"
    COMMUNITY = "community", "Community"
    CRM = "crm", "CRM"
    OTHER = "other", "Other"


class Event(models.Model):
    """One touchpoint on a contact's timeline. Append-only: rows are never updated (a merge moves them)."""

    #: The types Lifecycle itself records; integrations may send any other (custom) type.
    TYPES = {
        "contact_created": "Contact created", "field_changed": "Field changed", "tag_added": "Tag added",
        "tag_removed": "Tag removed", "list_subscribed": "Subscribed to a list",
        "list_unsubscribed": "Unsubscribed from a list", "list_status_changed": "List status changed",
        "consent_recorded": "Consent recorded", "note_added": "Note added", "task_created": "Task created",
        "task_done": "Task done", "stage_changed": "Stage changed", "form_submitted": "Form submitted",
        "page_visited": "Page visited", "email_sent": "Email sent", "email_opened": "Email opened",
        "email_clicked": "Email clicked", "deal_created": "Deal created", "deal_moved": "Deal moved",
        "deal_won": "Deal won", "deal_lost": "Deal lost", "contacts_merged": "Contacts merged",
        "imported": "Imported",
    }

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=64)
    channel = models.CharField(max_length=32, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=32, blank=True)
    # Optional id from the client, so a retried ingestion stores the event only once.
    client_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-occurred_at"], name="event_contact_time"),
            models.Index(fields=["type", "-occurred_at"], name="event_type_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class EventType(models.Model):
    """A custom event type, registered the first time an integration sends it (contacts.ingest).

    The built-in types are Event.TYPES and have no row. Rows are only ever inserted (ON CONFLICT
    DO NOTHING), never updated per event: a counter or "last seen" here would be one hot row that
    every concurrent ingestion batch has to lock.
    """

    #: Byte order ("C" collation): names are ASCII, and the API pages through them merged with Event.TYPES.
    name = models.CharField(max_length=64, unique=True, db_collation="C")
    first_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ContactList(models.Model):
    """A mailing list. Each contact has at most one subscription to it, with a status."""

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    double_opt_in = models.BooleanField(default=False, help_text="New subscribers confirm by email first.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "list"
        constraints = [models.UniqueConstraint(Lower("name"), name="list_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    class Status(models.TextChoices):
        SUBSCRIBED = "subscribed", "Subscribed"
        UNCONFIRMED = "unconfirmed", "Unconfirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="subscriptions")
    list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="subscriptions")
    status = models.CharField(max_length=12, choices=Status.choices)
    changed_at = models.DateTimeField()
    source = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["list__name"]
        constraints = [models.UniqueConstraint(fields=["list", "contact"], name="subscription_unique")]
        indexes = [
            models.Index(fields=["contact"], name="subscription_contact"),
            models.Index(fields=["list", "status"], name="subscription_list_status"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} → {self.list_id}: {self.status}"


class Consent(models.Model):
    """A record of consent given or withdrawn: what, when, where from, and from which IP. Never edited."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=100, help_text='What was agreed to, e.g. "email marketing".')
    granted = models.BooleanField(default=True)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=100, blank=True, help_text="e.g. the form or import it came from.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    wording = models.TextField(blank=True, help_text="The text the person agreed to.")

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.purpose}: {'granted' if self.granted else 'withdrawn'}"


class Note(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notes")
    deal = models.ForeignKey("pipelines.Deal", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="notes")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.body[:50]


class Task(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        TODO = "todo", "To-do"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TODO)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    due_at = models.DateTimeField()
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="tasks")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    deal = models.ForeignKey("pipelines.Deal", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="tasks")
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["done", "due_at", "id"]
        indexes = [models.Index(fields=["assignee", "done", "due_at"], name="task_assignee_due")]
        constraints = [
            models.CheckConstraint(condition=models.Q(contact__isnull=False) | models.Q(deal__isnull=False),
                                   name="task_links_contact_or_deal"),
        ]

    def __str__(self) -> str:
        return self.title


class ImportJob(models.Model):
    """One CSV/XLSX import: its file, mapping, options and progress, polled by the progress bar."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Mapping columns"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        CREATE_AND_UPDATE = "create_and_update", "Create new contacts and update existing ones"
        CREATE_ONLY = "create_only", "Create new contacts, skip existing ones"
        UPDATE_ONLY = "update_only", "Update existing contacts, skip new ones"

    file = models.FileField(upload_to="imports/%Y/%m/")
    filename = models.CharField(max_length=255)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="imports")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    #: CSV header -> contact field name, "fields.<key>" for a custom field, or "" to ignore the column.
    mapping = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.CREATE_AND_UPDATE)
    tags = models.JSONField(default=list, blank=True)
    list = models.ForeignKey(ContactList, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the whole import failed, if it did.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import of {self.filename}"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, self.processed_rows * 100 // self.total_rows)


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField()
    email = models.CharField(max_length=254, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["row_number"]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"


# --- Site tracking (contacts.tracking) ---------------------------------------------------------------

class TrackingSettings(models.Model):
    """Settings → Tracking: one row (pk=1), read with TrackingSettings.load()."""

    enabled = models.BooleanField(default=False)
    #: One domain a line, e.g. "example.com" (its subdomains are allowed too).
    allowed_domains = models.TextField(blank=True)
    honour_do_not_track = models.BooleanField(default=True)
    wait_for_consent = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Tracking settings"

    @classmethod
    def load(cls) -> "TrackingSettings":
        return cls.objects.get_or_create(pk=1)[0]

    @property
    def domains(self) -> list[str]:
        from contacts.tracking import domain_lines

        return domain_lines(self.allowed_domains)


class Visitor(models.Model):
    """A browser seen by the tracking script, known by a random key in a first-party cookie."""

    key = models.CharField(max_length=64, unique=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Visitor {self.key[:6]}…"


class PageVisit(models.Model):
    """One page view. `contact` is set (and a page_visited Event written) once the visitor is identified."""

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="visits")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    url = models.CharField(max_length=2000)
    path = models.CharField(max_length=2000)
    title = models.CharField(max_length=300, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    #: The first page of a visit: no page from this visitor in the 30 minutes before.
    is_entry = models.BooleanField(default=False)
    occurred_at = models.DateTimeField()
    #: The id of the Redis stream entry it was written from (contacts.tracking.visits_write): writing the same
    #: entry again (a drain that died before acknowledging it) stores nothing.
    stream_id = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["visitor", "-occurred_at"], name="pagevisit_visitor_time"),
            models.Index(fields=["-occurred_at"], name="pagevisit_time"),
            # The visits still to attach when a visitor is identified (tracking.attach_visits, on every drain
            # batch): without it, each batch walks all of an identified visitor's visits to find the new ones.
            models.Index(fields=["visitor"], condition=models.Q(contact__isnull=True), name="pagevisit_anonymous"),
        ]

    def __str__(self) -> str:
        return self.path


# --- Lead-capture forms (contacts.leadforms) ---------------------------------------------------------

class LeadForm(models.Model):
    """A lead-capture form: its fields, what a submission does, and where it may be published.

    Public pages know it by `public_key` (random, never the pk). A submission creates or updates the contact by
    email, records a form_submitted event, and applies the tags, lists, stage and deal set here.
    """

    name = models.CharField(max_length=100, help_text="For you; visitors see the title.")
    lead_magnet = models.CharField(max_length=150, blank=True,
                                   help_text="What the visitor gets, e.g. “Pricing ebook”; recorded on the event.")
    public_key = models.CharField(max_length=32, unique=True, editable=False)
    is_active = models.BooleanField(default=True, help_text="Inactive forms show a notice instead of the form.")
    # What the visitor sees
    title = models.CharField(max_length=150, blank=True)
    intro = models.TextField(blank=True, max_length=2000)
    submit_text = models.CharField(max_length=60, default="Submit")
    consent_text = models.TextField(blank=True, max_length=2000,
                                    help_text="Shown next to a required checkbox; empty for no consent checkbox.")
    success_message = models.TextField(max_length=2000, default="Thank you! We have received your details.")
    redirect_url = models.URLField(max_length=2000, blank=True,
                                   help_text="Instead of the message, send the visitor here. Its domain must be "
                                             "allowed below.")
    #: One domain a line (subdomains included): the sites that may embed the form and be redirected to.
    allowed_domains = models.TextField(blank=True)
    # What a submission does
    tags = models.ManyToManyField(Tag, blank=True, related_name="+")
    lists = models.ManyToManyField(ContactList, blank=True, related_name="lead_forms")
    lifecycle_stage = models.ForeignKey("lifecycle.LifecycleStage", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+", help_text="Moves the contact here if it is earlier.")
    pipeline = models.ForeignKey("pipelines.Pipeline", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", help_text="Creates a deal in this pipeline's first stage.")
    deal_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    # Spam protection
    min_fill_seconds = models.PositiveSmallIntegerField(
        default=3, validators=[MaxValueValidator(600)],
        help_text="Submissions sent faster than this after the form was shown are refused.")
    rate_per_ip = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1)],
                                                   help_text="Submissions a minute from one IP address.")
    rate_per_form = models.PositiveIntegerField(default=120, validators=[MinValueValidator(1)],
                                                help_text="Submissions a minute to this form from everyone.")
    reject_links = models.BooleanField(default=False, help_text="Refuse submissions with a URL in a text field.")
    #: One email domain a line; addresses there are refused (e.g. disposable-mail services).
    blocked_email_domains = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = "form"

    def __str__(self) -> str:
        return self.name


class LeadFormField(models.Model):
    """One field of a form, mapped to a contact field ("email", "first_name", ...) or a custom one ("fields.<key>")."""

    form = models.ForeignKey(LeadForm, on_delete=models.CASCADE, related_name="fields")
    target = models.CharField(max_length=80)
    label = models.CharField(max_length=150)
    help_text = models.CharField(max_length=300, blank=True)
    placeholder = models.CharField(max_length=150, blank=True)
    required = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["form", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["form", "target"], name="leadformfield_target_unique")]

    def __str__(self) -> str:
        return self.label


class LeadFormSubmission(models.Model):
    """An accepted submission: what was sent, by whom (the contact it made or updated), when and from where."""

    form = models.ForeignKey(LeadForm, on_delete=models.CASCADE, related_name="submissions")
    #: Deleting the contact deletes what they sent (the form's daily counts keep the numbers).
    contact = models.ForeignKey(Contact, null=True, on_delete=models.CASCADE, related_name="form_submissions")
    data = models.JSONField(default=dict)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    page_url = models.CharField(max_length=2000, blank=True)
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["form", "-submitted_at"], name="leadformsub_form_time")]

    def __str__(self) -> str:
        return f"{self.form_id} @ {self.submitted_at:%Y-%m-%d %H:%M}"


class LeadFormDay(models.Model):
    """Views and submissions of a form on one day (UTC), counted with INSERT ... ON CONFLICT DO UPDATE."""

    form = models.ForeignKey(LeadForm, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)
    submissions = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["form", "day"]
        constraints = [models.UniqueConstraint(fields=["form", "day"], name="leadformday_unique")]

    def __str__(self) -> str:
        return f"{self.form_id} {self.day}: {self.views} views, {self.submissions} submissions"


class OptInRequest(models.Model):
    """A double opt-in confirmation owed to a contact for a submission's double opt-in lists.

    The row is the idempotency key of the email (its submission is unique). Sending claims it first: `sending_at`
    is set and committed before the SMTP send, and `sent_at` after it, so a retried task finds the claim (or
    `sent_at`) and does not send again. A claim older than `optin.SEND_CLAIM_TIMEOUT` without `sent_at` may be
    claimed again (see `contacts.leadforms.optin.opt_in_send`). Clicking the signed link moves the contact's
    unconfirmed subscriptions to these lists to subscribed and sets `confirmed_at`.
    """

    submission = models.OneToOneField(LeadFormSubmission, on_delete=models.CASCADE, related_name="opt_in")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="opt_in_requests")
    lists = models.ManyToManyField(ContactList, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sending_at = models.DateTimeField(null=True, blank=True)  # the send claim; cleared when SMTP fails
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Opt-in for {self.contact_id}"
