"""Demo accounts (with a hierarchy), contacts with tags, and a year of touchpoints."""

from datetime import timedelta

from django.utils import timezone

from contacts.models import Account, Contact, Event, Tag

DEMO_DOMAIN = "demo.lifecycle.test"
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Gita", "Hugo", "Ines", "Jon", "Kai", "Lena", "Milo",
         "Nora", "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Vera", "Wes", "Xia", "Yara", "Zed"]
LAST = ["Silva", "Okafor", "Nguyen", "Schmidt", "Rossi", "Kowalski", "Haddad", "Tanaka", "Moreau", "Jensen",
        "Garcia", "Patel", "Novak", "Berg", "Costa", "Ibrahim"]
TITLES = ["CEO", "CTO", "Head of Marketing", "Marketing Manager", "Sales Director", "Operations Lead",
          "Founder", "Product Manager", "Growth Lead", "Procurement"]
COMPANIES = [("Acme Group", "acme.example", "Manufacturing"), ("Brightwave", "brightwave.example", "SaaS"),
             ("Cobalt Health", "cobalt.example", "Healthcare"), ("Dune Logistics", "dune.example", "Logistics"),
             ("Evergreen Retail", "evergreen.example", "Retail"), ("Fjord Finance", "fjord.example", "Finance"),
             ("Granite Labs", "granite.example", "SaaS"), ("Harbor Media", "harbor.example", "Media"),
             ("Iris Energy", "iris.example", "Energy"), ("Juniper Edu", "juniper.example", "Education")]
# A few big tags and a long tail of small ones.
TAGS = [("newsletter", 0.6), ("ebook-download", 0.35), ("webinar-attendee", 0.2), ("vip", 0.05),
        ("partner", 0.04), ("event-berlin", 0.03), ("trial", 0.08), ("churn-risk", 0.03)]
PAGES = ["/", "/pricing", "/features", "/blog/lifecycle-marketing", "/blog/lead-scoring-101", "/customers",
         "/demo", "/ebook/crm-playbook", "/webinar/automation", "/contact"]


def seed(*, rng, context: dict) -> str:
    if Contact.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").exists():
        context["contacts_qs"] = Contact.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")
        return "contacts: already there"
    owners = context["reps"]
    now = timezone.now()

    parents = {}
    accounts = []
    for name, domain, industry in COMPANIES:
        parent = Account.objects.create(name=name, domain=domain, industry=industry, owner=rng.choice(owners))
        parents[name] = parent
        accounts.append(parent)
        for region in rng.sample(["EMEA", "Americas", "APAC"], k=rng.randint(0, 2)):
            accounts.append(Account.objects.create(
                name=f"{name} {region}", domain=f"{region.lower()}.{domain}", industry=industry,
                parent=parent, owner=rng.choice(owners)))

    tags = {name: Tag.objects.get_or_create(name=name)[0] for name, _share in TAGS}
    contacts = []
    for i in range(context["contacts"]):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        created = now - timedelta(days=rng.randint(0, 365), minutes=rng.randint(0, 1440))
        contacts.append(Contact(
            email=f"{first}.{last}.{i}@{DEMO_DOMAIN}".lower(), first_name=first, last_name=last,
            title=rng.choice(TITLES), account=rng.choice(accounts) if rng.random() < 0.8 else None,
            owner=rng.choice(owners) if rng.random() < 0.7 else None, phone=f"+1 555 {rng.randint(1000, 9999)}"))
        contacts[-1]._demo_created = created
    Contact.objects.bulk_create(contacts)

    links, events = [], []
    for contact in contacts:
        for name, share in TAGS:
            if rng.random() < share:
                links.append(Contact.tags.through(contact_id=contact.pk, tag_id=tags[name].pk))
        created = contact._demo_created
        events.append(Event(contact=contact, type="contact_created", channel="form", occurred_at=created,
                            source="demo", properties={"source": "demo"}))
        for _ in range(int(rng.paretovariate(1.5) * 4)):
            when = created + timedelta(minutes=rng.randint(0, max(1, int((now - created).total_seconds() // 60))))
            kind = rng.random()
            if kind < 0.55:
                events.append(Event(contact=contact, type="page_visited", channel="website", occurred_at=when,
                                    source="demo", properties={"url": rng.choice(PAGES)}))
            elif kind < 0.8:
                events.append(Event(contact=contact, type="email_opened", channel="email", occurred_at=when,
                                    source="demo", properties={"campaign": "Monthly newsletter"}))
            elif kind < 0.92:
                events.append(Event(contact=contact, type="email_clicked", channel="email", occurred_at=when,
                                    source="demo", properties={"url": rng.choice(PAGES)}))
            else:
                events.append(Event(contact=contact, type="form_submitted", channel="form", occurred_at=when,
                                    source="demo", properties={"form": "CRM playbook ebook"}))
    Contact.tags.through.objects.bulk_create(links)
    Event.objects.bulk_create(events, batch_size=2000)
    # Demo rows are backdated; the timestamps users see must agree with the timeline.
    last_seen = {}
    for event in events:
        last_seen[event.contact_id] = max(event.occurred_at, last_seen.get(event.contact_id, event.occurred_at))
    for contact in contacts:
        contact.created_at = contact._demo_created
        contact.last_activity_at = last_seen.get(contact.pk)
    Contact.objects.bulk_update(contacts, ["created_at", "last_activity_at"], batch_size=1000)
    context["contacts_qs"] = Contact.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")
    return f"contacts: {len(contacts)} in {len(accounts)} accounts, {len(links)} tags, {len(events)} events"
