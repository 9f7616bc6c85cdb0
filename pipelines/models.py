from decimal import Decimal

from babel.numbers import list_currencies
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

__all__ = [
    "CURRENCIES", "DEFAULT_LOST_REASONS", "DEFAULT_STAGES", "Deal", "DealStageHistory", "LostReason", "Pipeline",
    "Stage", "validate_currency",
]

#: (name, win probability %, rotting limit in days) for a new pipeline.
DEFAULT_STAGES = [
    ("Contact", 10, 14),
    ("Qualification", 20, 14),
    ("Meeting", 40, 21),
    ("Proposal", 60, 21),
    ("Closing", 80, 14),
    ("Retention", 100, 90),
]


#: The lost reasons a new installation starts with; admins edit the list.
DEFAULT_LOST_REASONS = ["Price", "Chose a competitor", "No budget", "No decision", "Timing", "Bad fit"]


class LostReason(models.Model):
    """An entry of the editable list a lost deal's reason is picked from."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


#: ISO 4217 codes a deal's value may be in.
CURRENCIES = frozenset(list_currencies())


def validate_currency(code: str) -> None:
    if code not in CURRENCIES:
        raise ValidationError(f"“{code}” is not an ISO 4217 currency code, such as USD or EUR.")


class Pipeline(models.Model):
    name = models.CharField(max_length=100, unique=True)
    won_makes_customer = models.BooleanField(
        default=True, help_text="When a deal is won, move its contact to the last lifecycle stage (Support & Grow).")
    radio_silent_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1)],
        help_text="A deal with no activity (note, task, email, event) for this many days is radio silent.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField()
    probability = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)], help_text="Win probability, %")
    rotting_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days a deal may sit here before it is stale")

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "position"], name="stage_position_unique"),
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_unique"),
            models.CheckConstraint(condition=models.Q(probability__lte=100), name="stage_probability_max_100"),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline}: {self.name}"


class Deal(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    title = models.CharField(max_length=200)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"),
                                validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="deals", help_text="The primary contact.")
    other_contacts = models.ManyToManyField("contacts.Contact", blank=True, related_name="other_deals",
                                            help_text="More people involved in the deal.")
    account = models.ForeignKey("contacts.Account", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="deals")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="deals")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    lost_reason = models.ForeignKey(LostReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    expected_close_date = models.DateField(null=True, blank=True)
    # BANT qualification: Budget, Authority, Need, Timeline.
    budget = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                 validators=[MinValueValidator(Decimal("0"))], help_text="What the buyer can spend.")
    authority = models.CharField(max_length=200, blank=True, help_text="Who decides, and are we talking to them?")
    need = models.TextField(blank=True, help_text="The problem the deal solves.")
    timeline = models.CharField(max_length=200, blank=True, help_text="When they need it solved.")
    #: Custom field values by key, typed like the contacts' (see contacts.fields).
    fields = models.JSONField(default=dict, blank=True, db_default=models.Value({}, output_field=models.JSONField()))
    #: The order within its stage's column: a sort key with gaps (see pipelines.services.POSITION_GAP).
    position = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    #: When the deal entered its current stage (the open stay of its stage history), for days in stage and rotting.
    stage_entered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["stage__position", "position", "id"]
        indexes = [
            models.Index(fields=["pipeline", "status", "stage", "position"], name="deal_board"),
            models.Index(fields=["pipeline", "status", "closed_at"], name="deal_closed"),
            GinIndex(OpClass("fields", name="jsonb_path_ops"), name="deal_fields_gin"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gte=0), name="deal_value_not_negative"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def weighted_value(self) -> Decimal:
        """Value × the stage's win probability."""
        return (self.value * self.stage.probability / 100).quantize(Decimal("0.01"))


class DealStageHistory(models.Model):
    """One stay of a deal in a stage: entered, and exited when it moved on or closed.

    Time in stage and stage-to-stage conversion come from these rows. Backward moves are stays too.
    """

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_history")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()
    exited_at = models.DateTimeField(null=True, blank=True)
    moved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        ordering = ["entered_at", "id"]
        verbose_name_plural = "deal stage history"
        indexes = [
            models.Index(fields=["deal", "entered_at"], name="deal_history_deal"),
            models.Index(fields=["stage", "entered_at"], name="deal_history_stage"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["deal"], condition=models.Q(exited_at__isnull=True),
                                    name="deal_history_one_open_stay"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id} in {self.stage_id} from {self.entered_at:%Y-%m-%d}"
