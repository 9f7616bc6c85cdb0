"""The event store's share of the data set: about 10 events a contact over the last 12 months.

A mixin of bench.tables.Builder: it reads what `contacts()` left behind (per contact: created
time, number of events, last activity) and writes contacts_event in time order.
"""

import json
import time
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime

from bench import vocab
from bench.copyload import esc
from bench.sampling import DAY, cumulative, pick, zipf
from contacts.models import Event

__all__ = ["EVENT_WINDOW_DAYS", "TimelineTables"]

EVENT_WINDOW_DAYS = 365
SITE = "https://www.site.example"
#: Rows a COPY chunk holds.
CHUNK_ROWS = 20_000


def _page_title(path: str) -> str:
    return path.strip("/").replace("/", ": ").replace("-", " ").title() or "Home"


class TimelineTables:
    """Events: page visits, email opens and clicks, form submissions, contact_created and custom events."""

    def _event_kinds(self) -> tuple[list[float], list[tuple]]:
        """The event mix: (cumulative weights, [(type, channel, source, properties maker)])."""
        rng = self.rng("event-vocabulary")
        pages = list(vocab.TOP_PAGES)
        while len(pages) < 320:
            section = vocab.PAGE_SECTIONS[pick(rng, cumulative(w for _s, w in vocab.PAGE_SECTIONS))][0]
            page = f"/{section}/{rng.choice(vocab.PAGE_TOPICS)}"
            if page not in pages:
                pages.append(page)
        page_cum = zipf(len(pages), 1.1)
        referrers = vocab.REFERRERS
        visits = [[esc(json.dumps({"url": SITE + page, "title": _page_title(page)}
                              | ({"referrer": referrer} if referrer else {})))
                   for referrer in referrers] for page in pages]
        campaigns = []
        for k in range(EVENT_WINDOW_DAYS // 14 + 1):
            sent = datetime.fromtimestamp(self.window_start + k * 14 * DAY, UTC)
            campaigns.append(f'"campaign_id": {k + 1}, "campaign": "Newsletter {sent:%Y-%m-%d}"')
        form_cum = cumulative(w for _f, _m, w in vocab.FORMS)
        forms = [esc(json.dumps({"form": slug} | ({"lead_magnet": magnet} if magnet else {})))
                 for slug, magnet, _w in vocab.FORMS]

        def visit(r, t):
            return visits[pick(r, page_cum)][int(r.random() * len(referrers))]

        def campaign(t):
            return campaigns[min(len(campaigns) - 1, (t - self.window_start) // (14 * DAY))]

        def opened(r, t):
            return "{" + campaign(t) + "}"

        def clicked(r, t):
            return "{" + campaign(t) + f', "url": "{SITE}{pages[pick(r, page_cum)]}"' + "}"

        def submitted(r, t):
            return forms[pick(r, form_cum)]

        kinds = [("page_visited", "website", "tracking", visit, 48), ("email_opened", "email", "messaging", opened, 22),
                 ("email_clicked", "email", "messaging", clicked, 7), ("form_submitted", "form", "forms", submitted, 4)]
        custom_total = sum(event[3] for event in vocab.CUSTOM_EVENTS)
        for type_, channel, source, weight, bodies in vocab.CUSTOM_EVENTS:
            kinds.append((type_, channel, source, lambda r, t, b=bodies: b[int(r.random() * len(b))],
                          19 * weight / custom_total))
        return cumulative(k[4] for k in kinds), [k[:4] for k in kinds]

    def events(self) -> None:
        """About 10 events a contact over the last year, written in time order as they would arrive.

        First each contact's event times are drawn and bucketed by day (two small ints an event);
        then each day is sorted and its rows written, so the table's physical order follows time
        like a real event store's, not contact by contact.
        """
        started = time.perf_counter()
        times = self.rng("event-times")
        days = EVENT_WINDOW_DAYS
        bucket_secs = [array("l") for _ in range(days)]
        bucket_contacts = [array("q") for _ in range(days)]
        window_start = self.window_start
        for i, count in enumerate(self.contact_events):
            if not count:
                continue
            contact = i + 1
            created, last = self.contact_created[i], self.contact_last[i]
            if created >= window_start:
                # A negative id marks the contact_created event.
                day, sec = divmod(created - window_start, DAY)
                bucket_secs[day].append(sec)
                bucket_contacts[day].append(-contact)
                count -= 1
            if not count:
                continue
            start = max(created, window_start)
            span = last - start
            when = [last]
            when.extend(int(start + times.random() * span) for _ in range(count - 1))
            for t in when:
                day, sec = divmod(t - window_start, DAY)
                bucket_secs[day].append(sec)
                bucket_contacts[day].append(contact)
        self.timings["event_times"] = round(time.perf_counter() - started, 3)
        self.log(f"  event times drawn: {sum(map(len, bucket_secs)):,} in {self.timings['event_times']:.1f} s")
        kind_cum, kinds = self._event_kinds()
        rng = self.rng("event-kinds")
        day0 = window_start // DAY

        def chunks(suffix: str) -> Iterator[tuple[str, int]]:
            lines, next_id = [], 1
            for day in range(days):
                prefix = self.clock.day(day0 + day)
                base = window_start + day * DAY
                for sec, contact in sorted(zip(bucket_secs[day], bucket_contacts[day], strict=True)):
                    ts = f"{prefix}{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}+00"
                    if contact < 0:
                        lines.append(f"{next_id}\t{-contact}\tcontact_created\tform\t{{}}\t{ts}\tapi\t\\N\t{ts}"
                                     f"{suffix}\n")
                    else:
                        type_, channel, source, make = kinds[pick(rng, kind_cum)]
                        lines.append(f"{next_id}\t{contact}\t{type_}\t{channel}\t{make(rng, base + sec)}\t{ts}\t"
                                     f"{source}\t\\N\t{ts}{suffix}\n")
                    next_id += 1
                    if len(lines) >= CHUNK_ROWS:
                        yield "".join(lines), len(lines)
                        lines = []
                bucket_secs[day] = bucket_contacts[day] = array("l")  # free memory as we go
            yield "".join(lines), len(lines)

        self._copy(Event, ["id", "contact_id", "type", "channel", "properties", "occurred_at", "source",
                           "client_id", "created_at"], chunks, name="events")
