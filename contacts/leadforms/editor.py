"""The form editor's inputs (docs/forms.md): the settings form and the rows of the fields editor.

    LeadFormSettingsForm(data, form=leadform)   # a Django form over the builder's settings
    FieldRows.from_post(request.POST)           # the fields editor's rows, as posted
    rows.apply(op)                              # "add", "remove:2", "up:2", "down:2": the rows after it

The builder services (contacts.leadforms.builder) validate and save; these only read and lay out what was posted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.db.models.functions import Lower

from contacts.leadforms.builder import available_targets
from contacts.models import ContactList, LeadForm
from contacts.page_selectors import assignable_users
from lifecycle.selectors import active_stages
from pipelines.models import Pipeline

__all__ = ["MAX_FIELDS", "FieldRows", "LeadFormCreateForm", "LeadFormSettingsForm"]

#: A form with more fields than this is no longer a lead form.
MAX_FIELDS = 30
_NUMBER = {"inputmode": "numeric", "pattern": "[0-9]*"}
_DOMAINS = {"rows": 3, "spellcheck": "false", "placeholder": "example.com"}


def _choices(pairs, empty: str) -> list[tuple[str, str]]:
    return [("", empty)] + [(str(pk), str(label)) for pk, label in pairs]


class LeadFormCreateForm(forms.Form):
    """A new form: a name and its lead magnet. The rest gets defaults and is edited next."""

    name = forms.CharField(max_length=100, help_text="For you; visitors see the title.")
    lead_magnet = forms.CharField(max_length=150, required=False,
                                  help_text="What the visitor gets, e.g. “Pricing ebook”; recorded on the event.")


class LeadFormSettingsForm(forms.Form):
    """Every setting of a form. `values()` gives keyword arguments for `leadform_update`."""

    name = forms.CharField(max_length=100, help_text="For you; visitors see the title.")
    lead_magnet = forms.CharField(max_length=150, required=False,
                                  help_text="What the visitor gets, e.g. “Pricing ebook”; recorded on the event.")
    is_active = forms.BooleanField(required=False, label="Active",
                                   help_text="Inactive forms show a notice instead of the form.")
    title = forms.CharField(max_length=150, required=False, help_text="The heading above the fields.")
    intro = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    submit_text = forms.CharField(max_length=60, label="Submit button text")
    consent_text = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                   help_text="Shown next to a required checkbox; empty for no consent checkbox.")
    success_message = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                                      help_text="Shown after a submission, unless a redirect URL is set.")
    redirect_url = forms.CharField(max_length=2000, required=False, label="Redirect URL",
                                   widget=forms.TextInput(attrs={"inputmode": "url", "placeholder": "https://"}),
                                   help_text="Instead of the message, send the visitor here. Its domain must be "
                                             "one of the allowed domains.")
    allowed_domains = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs=_DOMAINS),
                                      help_text="One domain a line; subdomains are included. The sites that may "
                                                "embed the form and be redirected to.")
    tags = forms.CharField(max_length=1000, required=False, help_text="Comma-separated; new names create the tag.")
    lists = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                      help_text="Double opt-in lists keep the contact unconfirmed until they click "
                                                "the link in the confirmation email.")
    lifecycle_stage = forms.ChoiceField(required=False, help_text="Moves the contact here if it is earlier.")
    pipeline = forms.ChoiceField(required=False, label="Create a deal in",
                                 help_text="A new deal in the pipeline's first stage.")
    deal_owner = forms.ChoiceField(required=False, label="Deal owner")
    min_fill_seconds = forms.IntegerField(min_value=0, max_value=600, label="Minimum fill time (seconds)",
                                          widget=forms.TextInput(attrs=_NUMBER),
                                          help_text="Submissions sent faster after the form was shown are refused.")
    rate_per_ip = forms.IntegerField(min_value=1, max_value=10_000, label="Submissions a minute from one IP",
                                     widget=forms.TextInput(attrs=_NUMBER))
    rate_per_form = forms.IntegerField(min_value=1, max_value=100_000, label="Submissions a minute to this form",
                                       widget=forms.TextInput(attrs=_NUMBER))
    reject_links = forms.BooleanField(required=False, label="Refuse submissions with a link in a text field")
    blocked_email_domains = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs=_DOMAINS),
                                            help_text="One domain a line, e.g. disposable-mail services.")

    def __init__(self, data=None, *, form: LeadForm):
        initial = {name: getattr(form, name) for name in self.base_fields if name not in self._RELATIONS}
        initial.update({
            "tags": ", ".join(form.tags.order_by(Lower("name")).values_list("name", flat=True)),
            "lists": [str(pk) for pk in form.lists.values_list("pk", flat=True)],
            "lifecycle_stage": str(form.lifecycle_stage_id or ""), "pipeline": str(form.pipeline_id or ""),
            "deal_owner": str(form.deal_owner_id or "")})
        super().__init__(data, initial=initial)
        self.fields["lists"].choices = [
            (str(lst.pk), f"{lst.name} (double opt-in)" if lst.double_opt_in else lst.name)
            for lst in ContactList.objects.order_by("name")]
        _set, stages = active_stages()
        self.fields["lifecycle_stage"].choices = _choices(((s.pk, s.name) for s in stages), "Leave as it is")
        self.fields["pipeline"].choices = _choices(Pipeline.objects.values_list("pk", "name"), "No deal")
        self.fields["deal_owner"].choices = _choices(((u.pk, u) for u in assignable_users()), "Nobody")

    _RELATIONS = ("tags", "lists", "lifecycle_stage", "pipeline", "deal_owner")
    GROUPS = (
        ("Basics", ("name", "lead_magnet", "is_active")),
        ("What visitors see", ("title", "intro", "submit_text", "consent_text")),
        ("After a submission", ("success_message", "redirect_url")),
        ("What a submission does", ("tags", "lists", "lifecycle_stage", "pipeline", "deal_owner")),
        ("Where it may be published", ("allowed_domains",)),
        ("Spam protection", ("min_fill_seconds", "rate_per_ip", "rate_per_form", "reject_links",
                             "blocked_email_domains")),
    )

    def groups(self) -> list[tuple[str, list]]:
        """(heading, bound fields) for each fieldset of the settings card."""
        return [(heading, [self[name] for name in names]) for heading, names in self.GROUPS]

    def values(self) -> dict:
        """The cleaned settings as `leadform_update` keywords (objects for the foreign keys)."""
        from lifecycle.models import LifecycleStage
        from users.models import User

        data = dict(self.cleaned_data)
        data["tags"] = [name.strip() for name in data["tags"].split(",") if name.strip()]
        data["lists"] = list(ContactList.objects.filter(pk__in=[int(pk) for pk in data["lists"]]))
        for name, model in (("lifecycle_stage", LifecycleStage), ("pipeline", Pipeline), ("deal_owner", User)):
            data[name] = model.objects.filter(pk=int(data[name])).first() if data[name] else None
        return data


@dataclass
class FieldRow:
    target: str = ""
    label: str = ""
    help_text: str = ""
    placeholder: str = ""
    required: bool = False


@dataclass
class FieldRows:
    """The fields editor's rows, in order, and where the keyboard focus goes after a change."""

    rows: list[FieldRow] = field(default_factory=list)
    #: (row index, "up" | "down" | "remove" | "target") of the control to focus after an htmx swap.
    focus: tuple[int, str] | None = None

    @classmethod
    def from_form(cls, form: LeadForm) -> FieldRows:
        return cls([FieldRow(f.target, f.label, f.help_text, f.placeholder, f.required) for f in form.fields.all()])

    @classmethod
    def from_post(cls, data) -> FieldRows:
        """Rows `field-<i>-<name>` for i < field-count (capped at MAX_FIELDS); unknown keys are ignored."""
        try:
            count = min(int(data.get("field-count", "0")), MAX_FIELDS)
        except ValueError:
            count = 0
        rows = []
        for index in range(max(count, 0)):
            prefix = f"field-{index}-"
            rows.append(FieldRow(target=data.get(prefix + "target", "")[:100],
                                 label=data.get(prefix + "label", "")[:150],
                                 help_text=data.get(prefix + "help_text", "")[:300],
                                 placeholder=data.get(prefix + "placeholder", "")[:150],
                                 required=bool(data.get(prefix + "required"))))
        return cls(rows)

    def apply(self, op: str) -> bool:
        """Change the rows by `op`; False when `op` is not one of "add", "remove:i", "up:i", "down:i"."""
        if op == "add":
            if len(self.rows) >= MAX_FIELDS:
                return False
            used, targets = {row.target for row in self.rows}, available_targets()
            target = next((key for key in targets if key not in used), "")
            self.rows.append(FieldRow(target=target, label=targets.get(target, "")))
            self.focus = (len(self.rows) - 1, "target")
            return True
        action, _, index = op.partition(":")
        if not (index.isascii() and index.isdigit()) or int(index) >= len(self.rows):
            return False
        index = int(index)
        if action == "remove":
            del self.rows[index]
            if self.rows:
                self.focus = (min(index, len(self.rows) - 1), "remove")
            return True
        other = index - 1 if action == "up" else index + 1 if action == "down" else -1
        if not 0 <= other < len(self.rows):
            return False
        self.rows[index], self.rows[other] = self.rows[other], self.rows[index]
        # Keep the focus on the same button of the moved row, or on the other one at the end of the list.
        at_edge = (action == "up" and other == 0) or (action == "down" and other == len(self.rows) - 1)
        self.focus = (other, ("down" if action == "up" else "up") if at_edge else action)
        return True

    def as_builder_rows(self) -> list[dict]:
        return [vars(row) for row in self.rows]
