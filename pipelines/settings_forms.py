"""The forms of Settings → Pipelines (pipelines/views/settings.py).

They only parse what was typed; the rules (unique names, ranges, deals still in a stage) are
pipelines.services'.
"""

from django import forms

from pipelines.models import LostReason, Pipeline, Stage

__all__ = ["LostReasonForm", "PipelineCreateForm", "PipelineForm", "StageDeleteForm", "StageForm"]


def _no_autocomplete(form: forms.Form, *names: str) -> None:
    for name in names:
        form.fields[name].widget.attrs["autocomplete"] = "off"


class PipelineCreateForm(forms.Form):
    name = forms.CharField(max_length=Pipeline._meta.get_field("name").max_length)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = "Give the pipeline a name."
        _no_autocomplete(self, "name")


class PipelineForm(forms.Form):
    """A pipeline's name and its rules."""

    name = forms.CharField(max_length=Pipeline._meta.get_field("name").max_length)
    won_makes_customer = forms.BooleanField(
        required=False, label="When a deal is won, make its contact a customer",
        help_text="Moves the contact to the last lifecycle stage (Support & Grow), with the reason recorded.")
    radio_silent_days = forms.IntegerField(
        label="Radio silent after (days)",
        help_text="An open deal with no activity (note, task, email, event) for this many days gets a "
                  "“radio silent” badge on the board.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = "Give the pipeline a name."
        self.fields["radio_silent_days"].error_messages["required"] = "Say after how many days a deal is radio silent."
        self.fields["radio_silent_days"].widget.attrs.update(inputmode="numeric")
        _no_autocomplete(self, "name", "radio_silent_days")


class StageForm(forms.Form):
    """A stage's name, win probability and rotting limit, for adding and inline editing."""

    name = forms.CharField(max_length=Stage._meta.get_field("name").max_length)
    probability = forms.IntegerField(label="Win probability (%)")
    rotting_days = forms.IntegerField(label="Rotting limit (days)", required=False,
                                      help_text="Empty: deals never go stale here.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = "Give the stage a name."
        self.fields["probability"].error_messages["required"] = "Give a win probability from 0 to 100."
        for name in ("probability", "rotting_days"):
            self.fields[name].widget.attrs.update(inputmode="numeric")
        _no_autocomplete(self, "name", "probability", "rotting_days")


class StageDeleteForm(forms.Form):
    """Where the deals of a stage go when it is deleted: another stage of the same pipeline."""

    move_deals_to = forms.ModelChoiceField(queryset=Stage.objects.none(), label="Move its deals to",
                                           empty_label="Choose a stage…", required=False)

    def __init__(self, *args, stage: Stage, required: bool = False, **kwargs):
        """`required` when the stage has or had deals: the page asks where they go."""
        super().__init__(*args, **kwargs)
        field = self.fields["move_deals_to"]
        field.queryset = Stage.objects.filter(pipeline_id=stage.pipeline_id).exclude(pk=stage.pk).order_by("position")
        field.required = required
        field.label_from_instance = lambda other: other.name
        field.error_messages.update(required="Choose the stage its deals go to.",
                                    invalid_choice="Choose another stage of this pipeline.")


class LostReasonForm(forms.Form):
    name = forms.CharField(max_length=LostReason._meta.get_field("name").max_length)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = "Give the reason a name."
        _no_autocomplete(self, "name")
