from django import forms

from users.models import ApiKey

__all__ = ["ApiKeyCreateForm"]


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=ApiKey._meta.get_field("name").max_length,
        help_text="What the key is for, so you can tell your keys apart, e.g. “Zapier” or “Data warehouse”.",
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off", "autofocus": True}),
    )
    scope = forms.ChoiceField(
        choices=ApiKey.Scope.choices,
        initial=ApiKey.Scope.READ,
        help_text="A read key may only read (GET). A write key may do everything you may do.",
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
