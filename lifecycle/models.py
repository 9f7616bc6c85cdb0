from django.conf import settings
from django.db import models

__all__ = ["IdempotencyRecord", "LifecycleStage", "StageSet", "StageTransition", "WorkerHeartbeat"]


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker ran the heartbeat task. /healthz reads it."""

    hostname = models.CharField(max_length=255, unique=True)
    last_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.last_seen_at:%H:%M:%S}"


class IdempotencyRecord(models.Model):
    """The stored response to a POST carrying an Idempotency-Key, per user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class StageSet(models.Model):
    """An ordered set of lifecycle stages. Exactly one set is active at a time."""

    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True),
                                    name="one_active_stage_set"),
        ]

    def __str__(self) -> str:
        return self.name


class LifecycleStage(models.Model):
    """A stage of the customer lifecycle, e.g. Reach & Engage. Its position gives the direction of a move."""

    stage_set = models.ForeignKey(StageSet, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["stage_set", "position"]
        constraints = [
            models.UniqueConstraint(fields=["stage_set", "position"], name="lifecycle_stage_position_unique",
                                    deferrable=models.Deferrable.DEFERRED),
            models.UniqueConstraint(fields=["stage_set", "name"], name="lifecycle_stage_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class StageTransition(models.Model):
    """One move of a contact between lifecycle stages: the raw material of journey analytics."""

    class Direction(models.TextChoices):
        ENTRY = "entry", "Entered"
        FORWARD = "forward", "Forward"
        BACKWARD = "backward", "Backward"

    class Actor(models.TextChoices):
        USER = "user", "User"
        AUTOMATION = "automation", "Automation"
        RULE = "rule", "Rule"
        API = "api", "API"
        FORM = "form", "Form"
        IMPORT = "import", "Import"
        SYSTEM = "system", "System"

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="stage_transitions")
    from_stage = models.ForeignKey(LifecycleStage, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    to_stage = models.ForeignKey(LifecycleStage, on_delete=models.PROTECT, related_name="transitions_in")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    occurred_at = models.DateTimeField()
    actor = models.CharField(max_length=12, choices=Actor.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "occurred_at"], name="transition_contact_time"),
            models.Index(fields=["to_stage", "occurred_at"], name="transition_stage_time"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.from_stage} → {self.to_stage} ({self.direction})"
