"""The forms of Settings → Custom fields, Tags and Lists (contacts/views/settings.py).

They only parse what was typed; the rules (unique names, keys, options in use) are contacts.catalog's.
"""

from django import forms

from contacts import catalog
from contacts.models import CustomField

__all__ = ["CustomFieldForm", "ListForm", "TagForm", "contacts_phrase", "records_phrase"]


def contacts_phrase(count: int, verb: str = "", plural_verb: str = "") -> str:
    """ "1 contact has", "2 contacts have": a count of contacts, with the verb that agrees with it."""
    words = f"{count:,} contact{'s' if count != 1 else ''}"
    return f"{words} {verb if count == 1 else plural_verb}" if verb else words


def records_phrase(count: int, object: str, verb: str = "", plural_verb: str = "") -> str:
    """ "1 contact has", "2 deals have": a count of what a custom field's object is (contacts or deals)."""
    if object != CustomField.Object.DEAL:
        return contacts_phrase(count, verb, plural_verb)
    words = f"{count:,} deal{'s' if count != 1 else ''}"
    return f"{words} {verb if count == 1 else plural_verb}" if verb else words


class CustomFieldForm(forms.Form):
    label = forms.CharField(max_length=100, help_text="What people see on forms and the contact page.")
    key = forms.CharField(max_length=catalog.KEY_MAX, required=False,
                          help_text=f"The name in the API, CSV headers and filters. Leave it blank to make one from "
                                    f"the label. {catalog.KEY_RULE}")
    type = forms.ChoiceField(choices=CustomField.Type.choices)
    choices = forms.CharField(label="Options", required=False, widget=forms.Textarea(attrs={"rows": 6}),
                              help_text="One option per line. Only for single and multiple choice fields.")
    help_text = forms.CharField(max_length=200, required=False, label="Help text",
                                help_text="A hint shown under the field on forms.")
    #: Options are optional only for the types that have none; the help text says which.
    unmarked_optional = ("choices",)

    def __init__(self, *args, in_use: int = 0, object: str = CustomField.Object.CONTACT, **kwargs):
        super().__init__(*args, **kwargs)
        if object == CustomField.Object.DEAL:
            self.fields["label"].help_text = "What people see on the deal page and its forms."
            self.fields["key"].help_text = (f"The name in the API and filters. Leave it blank to make one from the "
                                            f"label. {catalog.KEY_RULE}")
        self.fields["label"].error_messages["required"] = "Give the field a label."
        self.fields["label"].widget.attrs["autofocus"] = ""
        self.fields["key"].widget.attrs.update(autocomplete="off", spellcheck="false")
        self.fields["type"].widget.attrs["data-field-type"] = ""
        self.fields["choices"].widget.attrs["data-field-options"] = ""
        if in_use:
            # What the service would refuse anyway, said before anyone tries.
            for name in ("key", "type"):
                self.fields[name].disabled = True
                self.fields[name].help_text = (
                    f"Locked: {records_phrase(in_use, object, 'has', 'have')} a value for this field, and they were "
                    f"checked against its type and are found by its key.")

    def clean_choices(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["choices"].splitlines() if line.strip()]


class TagForm(forms.Form):
    name = forms.CharField(max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = "Give the tag a name."
        self.fields["name"].widget.attrs["autofocus"] = ""
        self.fields["name"].widget.attrs["autocomplete"] = "off"


class ListForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False,
                                  help_text="What subscribers get, e.g. “One email a month”.")
    double_opt_in = forms.BooleanField(label="Double opt-in", required=False,
                                       help_text="New subscribers confirm by email before they get anything.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = "Give the list a name."
        self.fields["name"].widget.attrs["autofocus"] = ""
        self.fields["name"].widget.attrs["autocomplete"] = "off"
