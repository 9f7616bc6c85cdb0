"""Demo data for contacts: accounts in a hierarchy, contacts with custom fields, tags, lists, consent,
notes, tasks and a year of touchpoints.

Two steps of `seed_demo` (lifecycle/management/commands/seed_demo.py):
- `seed` runs after the users, before the lifecycle journeys and the deals;
- `seed_followups` runs after the deals: tasks and notes on deals, lead statuses that match the
  lifecycle stages, each contact's last activity from the finished timeline, and the demo lead forms with
  their history (contacts.leadforms.demo).
Both do nothing the second time. Rows are bulk-created and backdated, with their timeline events.
"""

from datetime import timedelta
from decimal import Decimal

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from contacts import catalog
from contacts.models import (
    Account,
    Consent,
    Contact,
    ContactList,
    CustomField,
    Event,
    Note,
    PageVisit,
    Subscription,
    Tag,
    Task,
    Visitor,
)

DEMO_DOMAIN = "demo.lifecycle.test"
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Gita", "Hugo", "Ines", "Jon", "Kai", "Lena", "Milo",
         "Nora", "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Vera", "Wes", "Xia", "Yara", "Zed"]
LAST = ["Silva", "Okafor", "Nguyen", "Schmidt", "Rossi", "Kowalski", "Haddad", "Tanaka", "Moreau", "Jensen",
        "Garcia", "Patel", "Novak", "Berg", "Costa", "Ibrahim"]
TITLES = ["CEO", "CTO", "Head of Marketing", "Marketing Manager", "Sales Director", "Operations Lead",
          "Founder", "Product Manager", "Growth Lead", "Procurement"]
#: (name, domain, industry, size, annual revenue in USD)
COMPANIES = [("Acme Group", "acme.example", "Manufacturing", "1001-5000", 420_000_000),
             ("Brightwave", "brightwave.example", "SaaS", "51-200", 18_500_000),
             ("Cobalt Health", "cobalt.example", "Healthcare", "201-1000", 96_000_000),
             ("Dune Logistics", "dune.example", "Logistics", "5001+", 1_250_000_000),
             ("Evergreen Retail", "evergreen.example", "Retail", "201-1000", 74_000_000),
             ("Fjord Finance", "fjord.example", "Finance", "1001-5000", 610_000_000),
             ("Granite Labs", "granite.example", "SaaS", "11-50", 4_200_000),
             ("Harbor Media", "harbor.example", "Media", "51-200", 12_750_000),
             ("Iris Energy", "iris.example", "Energy", "1001-5000", 880_000_000),
             ("Juniper Edu", "juniper.example", "Education", "1-10", 650_000)]
SIZE_HEADCOUNT = {"1-10": (2, 10), "11-50": (11, 50), "51-200": (51, 200), "201-1000": (201, 1000),
                  "1001-5000": (1001, 5000), "5001+": (5001, 40000)}
SMALLER = {"5001+": "1001-5000", "1001-5000": "201-1000", "201-1000": "51-200", "51-200": "11-50",
           "11-50": "1-10", "1-10": "1-10"}
REGIONS = ["EMEA", "Americas", "APAC"]
# A few big tags and a long tail of small ones.
TAGS = [("newsletter", 0.6), ("ebook-download", 0.35), ("webinar-attendee", 0.2), ("vip", 0.05),
        ("partner", 0.04), ("event-berlin", 0.03), ("trial", 0.08), ("churn-risk", 0.03)]
DEMO_SITE = "https://www.lifecycle-demo.test"
PAGES = ["/", "/pricing", "/features", "/blog/lifecycle-marketing", "/blog/lead-scoring-101", "/customers",
         "/demo", "/ebook/crm-playbook", "/webinar/automation", "/contact"]
CUSTOM_FIELDS = [
    {"key": "industry", "label": "Industry", "type": "choice",
     "choices": ["SaaS", "Manufacturing", "Healthcare", "Logistics", "Retail", "Finance", "Media", "Energy",
                 "Education", "Other"]},
    {"key": "employee_headcount", "label": "Employee headcount", "type": "number"},
    {"key": "annual_revenue", "label": "Annual revenue", "type": "money", "help_text": "In USD, per year."},
    {"key": "region", "label": "Region", "type": "choice", "choices": REGIONS},
    {"key": "renewal_date", "label": "Renewal date", "type": "date"},
    {"key": "trial_user", "label": "Trial user", "type": "boolean"},
    {"key": "website", "label": "Website", "type": "url"},
]
#: source -> (weight, the details it comes with: lead magnets, files, integrations)
SOURCES = {
    Contact.Source.FORM: (50, ["CRM playbook ebook", "Automation webinar", "Lead scoring guide", "Free trial",
                               "Pricing page demo request", "Lifecycle marketing checklist"]),
    Contact.Source.IMPORT: (25, ["Trade show Berlin 2026.csv", "Partner referrals.xlsx"]),
    Contact.Source.API: (10, ["Website chat widget", "Zapier: Typeform survey"]),
    Contact.Source.MANUAL: (15, ["", "Referral from a customer"]),
}
#: name, description, double opt-in, share of contacts on it, status weights
LISTS = [
    ("Monthly newsletter", "Lifecycle marketing tips, once a month.", True, 0.55,
     {"subscribed": 72, "unconfirmed": 8, "unsubscribed": 12, "bounced": 6, "complained": 2}),
    ("Product updates", "What is new in the product.", False, 0.35,
     {"subscribed": 80, "unsubscribed": 14, "bounced": 6}),
    ("Webinar invites", "Invitations to live webinars and their recordings.", False, 0.25,
     {"subscribed": 85, "unsubscribed": 10, "bounced": 5}),
]
CONSENT_WORDING = "Yes, send me the {list}. I can unsubscribe at any time with the link in every email."
NOTES = [
    "Call with {first}: evaluating us against two other CRMs, decision expected this quarter.",
    "{first} downloaded the CRM playbook and asked about lead scoring. Sent the case study.",
    "Met {first} at the Berlin event. Interested in automations for onboarding.",
    "{first} wants a demo for the whole marketing team; budget is approved.",
    "Left a voicemail for {first}. Will try again next week.",
    "{first} is happy with the product; asked about adding five more seats.",
    "Support ticket resolved; {first} mentioned a possible renewal discount.",
]
CONTACT_TASKS = {
    Task.Kind.CALL: ["Call {first} about the trial", "Discovery call with {first}", "Check in with {first}"],
    Task.Kind.EMAIL: ["Email {first} the case study", "Send {first} the webinar recording",
                      "Follow up on {first}'s pricing question"],
    Task.Kind.MEETING: ["Demo for {company}", "Quarterly review with {first}"],
    Task.Kind.TODO: ["Update {first}'s details after the webinar", "Check {first}'s company size"],
}
DEAL_TASKS = {
    "open": [(Task.Kind.EMAIL, "Send the proposal for {deal}"), (Task.Kind.CALL, "Follow up on the demo: {deal}"),
             (Task.Kind.MEETING, "Negotiation meeting: {deal}"), (Task.Kind.TODO, "Prepare the quote for {deal}")],
    "won": [(Task.Kind.MEETING, "Onboarding kick-off: {deal}"), (Task.Kind.EMAIL, "Send the welcome pack: {deal}")],
    "lost": [(Task.Kind.CALL, "Ask why we lost: {deal}")],
}
DEAL_NOTES = {
    "open": "Budget confirmed for {deal}; next step is the proposal.",
    "won": "{deal} signed. Handing over to customer success with these notes.",
    "lost": "{deal} lost on price; revisit in six months.",
}
#: Lead status by position of the lifecycle stage (Reach, Nurture, Convert, Grow).
LEAD_STATUS_BY_STAGE = [Contact.LeadStatus.NEW, Contact.LeadStatus.MQL, Contact.LeadStatus.SQL,
                        Contact.LeadStatus.CUSTOMER]


def demo_contacts():
    return Contact.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")


def _between(rng, start, end):
    """A random moment in [start, end]."""
    span = max(0, int((end - start).total_seconds()))
    return start + timedelta(seconds=rng.randint(0, span))


def _weighted(rng, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def seed(*, rng, context: dict) -> str:
    context["contacts_qs"] = demo_contacts()
    if demo_contacts().exists():
        return "contacts: already there"
    owners = context["reps"]
    now = timezone.now()
    _seed_custom_fields()

    accounts = []
    for name, domain, industry, size, revenue in COMPANIES:
        parent = Account.objects.create(name=name, domain=domain, industry=industry, owner=rng.choice(owners),
                                        size=size, annual_revenue=Decimal(revenue))
        parent.region = rng.choice(REGIONS)
        accounts.append(parent)
        for region in rng.sample(REGIONS, k=rng.randint(0, 2)):
            child = Account.objects.create(
                name=f"{name} {region}", domain=f"{region.lower()}.{domain}", industry=industry, parent=parent,
                owner=rng.choice(owners), size=SMALLER[size], annual_revenue=Decimal(revenue // 4))
            child.region = region
            accounts.append(child)

    tags = {name: Tag.objects.get_or_create(name=name)[0] for name, _share in TAGS}
    contacts = []
    for i in range(context["contacts"]):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        account = rng.choice(accounts) if rng.random() < 0.8 else None
        source = _weighted(rng, {source: weight for source, (weight, _details) in SOURCES.items()})
        contact = Contact(
            email=f"{first}.{last}.{i}@{DEMO_DOMAIN}".lower(), first_name=first, last_name=last,
            title=rng.choice(TITLES), account=account, owner=rng.choice(owners) if rng.random() < 0.7 else None,
            phone=f"+1 555 {rng.randint(1000, 9999)}", source=source, source_detail=rng.choice(SOURCES[source][1]))
        contact._demo_created = now - timedelta(days=rng.randint(0, 365), minutes=rng.randint(0, 1440))
        contact._demo_tags = [name for name, share in TAGS if rng.random() < share]
        contact.fields = _field_values(rng, contact, now)
        contacts.append(contact)
    Contact.objects.bulk_create(contacts)

    links, events = [], []
    for contact in contacts:
        links += [Contact.tags.through(contact_id=contact.pk, tag_id=tags[name].pk) for name in contact._demo_tags]
        created = contact._demo_created
        events.append(Event(contact=contact, type="contact_created", channel="form", occurred_at=created,
                            source="demo", properties={"source": contact.source}))
        for _ in range(int(rng.paretovariate(1.5) * 4)):
            events.append(_touchpoint(rng, contact, _between(rng, created, now)))
    Contact.tags.through.objects.bulk_create(links)
    subscriptions, consents = _seed_lists(rng, contacts, now, events)
    notes = _seed_notes(rng, contacts, owners, now, events)
    tasks = _seed_contact_tasks(rng, contacts, owners, now, events)
    Event.objects.bulk_create(events, batch_size=2000)
    _seed_site_visits(rng, events, now)
    for contact in contacts:
        contact.created_at = contact._demo_created
    Contact.objects.bulk_update(contacts, ["created_at"], batch_size=1000)
    _update_last_activity()
    return (f"contacts: {len(contacts)} in {len(accounts)} accounts, {len(CUSTOM_FIELDS)} custom fields, "
            f"{len(links)} tags, {subscriptions} list subscriptions, {consents} consents, {notes} notes, "
            f"{tasks} tasks, {len(events)} events")


def _seed_custom_fields() -> None:
    """The demo's custom fields, through the service so number, money and date fields get their range index."""
    existing = set(CustomField.objects.for_contacts().values_list("key", flat=True))
    for definition in CUSTOM_FIELDS:
        if definition["key"] not in existing:
            catalog.custom_field_create(**definition)


def _field_values(rng, contact: Contact, now) -> dict:
    """Custom field values as the API would store them: firmographics from the account, the rest made up."""
    values = {}
    account = contact.account
    if account is not None:
        low, high = SIZE_HEADCOUNT[account.size]
        values |= {"industry": account.industry, "employee_headcount": rng.randint(low, high),
                   "annual_revenue": int(account.annual_revenue), "region": account.region,
                   "website": f"https://www.{account.domain}"}
    elif rng.random() < 0.4:
        values |= {"industry": "Other", "region": rng.choice(REGIONS)}
    if rng.random() < 0.25:
        values["renewal_date"] = (now + timedelta(days=rng.randint(-30, 365))).date().isoformat()
    if rng.random() < 0.6:
        values["trial_user"] = "trial" in contact._demo_tags or rng.random() < 0.15
    return values


def _seed_site_visits(rng, events: list[Event], now) -> int:
    """Site tracking (docs/tracking.md): a visitor per contact with page_visited events, their visits as attached
    PageVisit rows, and as many anonymous visitors again, so the site-visits report has something to show."""
    from contacts.tracking import SESSION_GAP, new_key

    by_contact: dict[int, list] = {}
    for event in events:
        if event.type == "page_visited":
            by_contact.setdefault(event.contact.pk, []).append((event.occurred_at, event.properties["url"]))
    for _ in range(len(by_contact)):  # anonymous visitors: negative keys, no contact
        start = now - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1440))
        by_contact[-len(by_contact) - 1] = [(start + timedelta(minutes=2 * i), rng.choice(PAGES))
                                            for i in range(rng.randint(1, 4))]
    visitors, visits = [], []
    for contact_id, seen in by_contact.items():
        seen.sort()
        visitor = Visitor(key=new_key(), contact_id=contact_id if contact_id > 0 else None,
                          first_seen_at=seen[0][0], last_seen_at=seen[-1][0])
        visitors.append(visitor)
        previous = None
        for when, path in seen:
            visits.append(PageVisit(visitor=visitor, contact_id=visitor.contact_id, url=f"{DEMO_SITE}{path}",
                                    path=path, title=path.strip("/").replace("-", " ").capitalize() or "Home",
                                    is_entry=previous is None or when - previous > SESSION_GAP, occurred_at=when))
            previous = when
    Visitor.objects.bulk_create(visitors, batch_size=2000)
    PageVisit.objects.bulk_create(visits, batch_size=2000)
    return len(visits)


def _touchpoint(rng, contact: Contact, when) -> Event:
    kind = rng.random()
    if kind < 0.55:
        return Event(contact=contact, type="page_visited", channel="website", occurred_at=when, source="demo",
                     properties={"url": rng.choice(PAGES)})
    if kind < 0.8:
        return Event(contact=contact, type="email_opened", channel="email", occurred_at=when, source="demo",
                     properties={"campaign": "Monthly newsletter"})
    if kind < 0.92:
        return Event(contact=contact, type="email_clicked", channel="email", occurred_at=when, source="demo",
                     properties={"url": rng.choice(PAGES)})
    return Event(contact=contact, type="form_submitted", channel="form", occurred_at=when, source="demo",
                 properties={"form": contact.source_detail or "CRM playbook ebook"})


def _seed_lists(rng, contacts: list[Contact], now, events: list[Event]) -> tuple[int, int]:
    """Subscriptions with mixed statuses (unsubscribes and bounces included), consent, and their events."""
    subscriptions, consents = [], []
    for name, description, double_opt_in, share, statuses in LISTS:
        contact_list = ContactList.objects.filter(name__iexact=name).first() or catalog.list_create(
            name=name, description=description, double_opt_in=double_opt_in)
        for contact in contacts:
            if rng.random() >= share:
                continue
            status = _weighted(rng, statuses)
            joined = _between(rng, contact._demo_created, now)
            changed = joined if status in ("subscribed", "unconfirmed") else _between(rng, joined, now)
            subscriptions.append(Subscription(contact=contact, list=contact_list, status=status, changed_at=changed,
                                              source="demo"))
            about = {"list": contact_list.name, "list_id": contact_list.pk}
            if status == "unconfirmed":
                events.append(Event(contact=contact, type="list_status_changed", channel="email", occurred_at=joined,
                                    source="demo", properties={**about, "status": status, "previous": None}))
                continue
            events.append(Event(contact=contact, type="list_subscribed", channel="email", occurred_at=joined,
                                source="demo", properties={**about, "status": "subscribed", "previous": None}))
            consents.append(Consent(contact=contact, purpose="email marketing", granted=True, occurred_at=joined,
                                    source=f"{contact_list.name} signup form", ip_address=_ip(rng),
                                    wording=CONSENT_WORDING.format(list=contact_list.name.lower())))
            if status != "subscribed":
                event_type = "list_unsubscribed" if status == "unsubscribed" else "list_status_changed"
                events.append(Event(contact=contact, type=event_type, channel="email", occurred_at=changed,
                                    source="demo", properties={**about, "status": status, "previous": "subscribed"}))
            if status == "unsubscribed":
                consents.append(Consent(contact=contact, purpose="email marketing", granted=False, occurred_at=changed,
                                        source="Unsubscribe link", ip_address=_ip(rng)))
    Subscription.objects.bulk_create(subscriptions, batch_size=2000)
    Consent.objects.bulk_create(consents, batch_size=2000)
    events += [Event(contact=consent.contact, type="consent_recorded", occurred_at=consent.occurred_at, source="demo",
                     properties={"purpose": consent.purpose, "granted": consent.granted}) for consent in consents]
    return len(subscriptions), len(consents)


def _ip(rng) -> str:
    return f"203.0.113.{rng.randint(1, 254)}"  # TEST-NET-3: documentation addresses, never a real person's


def _seed_notes(rng, contacts: list[Contact], owners, now, events: list[Event]) -> int:
    notes = []
    for contact in contacts:
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
            note = Note(contact=contact, author=contact.owner or rng.choice(owners),
                        body=rng.choice(NOTES).format(first=contact.first_name))
            note._demo_created = _between(rng, contact._demo_created, now)
            notes.append(note)
    _create_backdated(Note, notes)
    events += [_note_event(note) for note in notes]
    return len(notes)


def _note_event(note: Note) -> Event:
    return Event(contact_id=note.contact_id, type="note_added", channel="crm", occurred_at=note.created_at,
                 source="demo", properties={"note_id": note.pk, "excerpt": note.body[:140],
                                            "author": note.author.get_username() if note.author else None})


def _task(rng, *, kind, title: str, assignee, contact: Contact | None, deal, earliest, now) -> Task:
    """A task that is done, overdue or coming up, created after `earliest` and before it is due."""
    state = rng.choices(["done", "overdue", "upcoming"], weights=[35, 25, 40])[0]
    due = now - timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 8))
    if state == "upcoming" or due < earliest + timedelta(hours=2):
        state, due = "upcoming", now + timedelta(days=rng.randint(0, 14), hours=rng.randint(1, 8))
    created = _between(rng, earliest, min(now, due - timedelta(hours=1)))
    task = Task(kind=kind, title=title, due_at=due, assignee=assignee, contact=contact, deal=deal,
                created_by=assignee, done=state == "done")
    task.done_at = _between(rng, created, min(now, due + timedelta(days=2))) if task.done else None
    task._demo_created = created
    return task


def _task_events(tasks: list[Task]) -> list[Event]:
    events = []
    for task in tasks:
        if task.contact_id is None:
            continue
        about = {"task_id": task.pk, "title": task.title, "kind": task.kind}
        events.append(Event(contact_id=task.contact_id, type="task_created", channel="crm",
                            occurred_at=task.created_at, source="demo", properties=about))
        if task.done:
            events.append(Event(contact_id=task.contact_id, type="task_done", channel="crm", occurred_at=task.done_at,
                                source="demo", properties={**about, "by": task.assignee.get_username()}))
    return events


def _seed_contact_tasks(rng, contacts: list[Contact], owners, now, events: list[Event]) -> int:
    tasks = []
    for contact in contacts:
        if rng.random() >= 0.3:
            continue
        kind = rng.choice(list(CONTACT_TASKS))
        title = rng.choice(CONTACT_TASKS[kind]).format(
            first=contact.first_name, company=contact.account.name if contact.account else contact.full_name)
        tasks.append(_task(rng, kind=kind, title=title, assignee=contact.owner or rng.choice(owners), contact=contact,
                           deal=None, earliest=contact._demo_created, now=now))
    _create_backdated(Task, tasks)
    events += _task_events(tasks)
    return len(tasks)


def _create_backdated(model, rows: list) -> None:
    """bulk_create, then set the created_at each row was given as `_demo_created` (auto_now_add overrides it)."""
    model.objects.bulk_create(rows, batch_size=2000)
    for row in rows:
        row.created_at = row._demo_created
    model.objects.bulk_update(rows, ["created_at"], batch_size=1000)


def _update_last_activity() -> None:
    """Each demo contact's last activity is its newest touchpoint (demo rows are backdated)."""
    newest = Event.objects.filter(contact=OuterRef("pk")).order_by("-occurred_at").values("occurred_at")[:1]
    demo_contacts().update(last_activity_at=Subquery(newest))


def seed_followups(*, rng, context: dict) -> str:
    """After the deals exist: tasks and notes on deals, lead statuses that follow the lifecycle stages, and the
    lead forms (each part seeded once)."""
    from contacts.leadforms import demo as leadforms_demo

    return f"{_seed_deal_followups(rng=rng, context=context)}\n  {leadforms_demo.seed(rng=rng, context=context)}"


def _seed_deal_followups(*, rng, context: dict) -> str:
    from pipelines.models import Deal

    contacts = demo_contacts()
    if Task.objects.filter(deal__isnull=False, contact__in=contacts).exists():
        return "contact follow-ups: already there"
    now = timezone.now()
    owners = context["reps"]
    for position, status in enumerate(LEAD_STATUS_BY_STAGE):
        contacts.filter(lifecycle_stage__position=position).update(lead_status=status)
    # A few early leads did not fit: disqualified, whatever their stage said.
    early = list(contacts.filter(lifecycle_stage__position=0).values_list("pk", flat=True))
    Contact.objects.filter(pk__in=rng.sample(early, k=len(early) // 8)).update(
        lead_status=Contact.LeadStatus.DISQUALIFIED)

    deals = list(Deal.objects.filter(contact__in=contacts).select_related("contact", "owner").order_by("pk"))
    contacts.filter(deals__status=Deal.Status.WON).update(lead_status=Contact.LeadStatus.CUSTOMER)
    tasks, notes = [], []
    for deal in deals:
        assignee = deal.owner or deal.contact.owner or rng.choice(owners)
        since = max(deal.created_at, deal.contact.created_at)
        for kind, title in rng.sample(DEAL_TASKS[deal.status], k=min(2, len(DEAL_TASKS[deal.status]))):
            tasks.append(_task(rng, kind=kind, title=title.format(deal=deal.title), assignee=assignee,
                               contact=deal.contact, deal=deal, earliest=since, now=now))
        note = Note(contact=deal.contact, deal=deal, author=assignee,
                    body=DEAL_NOTES[deal.status].format(deal=deal.title))
        note._demo_created = _between(rng, since, max(since, min(deal.closed_at or now, now)))
        notes.append(note)
    _create_backdated(Task, tasks)
    _create_backdated(Note, notes)
    Event.objects.bulk_create(_task_events(tasks) + [_note_event(note) for note in notes], batch_size=2000)
    _update_last_activity()
    overdue = sum(1 for task in tasks if not task.done and task.due_at < now)
    return f"contact follow-ups: {len(tasks)} deal tasks ({overdue} overdue), {len(notes)} deal notes"
