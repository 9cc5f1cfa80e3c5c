from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One recorded change: who, when, what, before and after. Append-only: the database
    refuses UPDATE and DELETE on this table (see migration 0002)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,  # a deleted user's events keep the id and the name
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    # A plain column, not a foreign key: audit rows must outlive what they describe.
    slide_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["slide_id", "-at"], name="audit_slide_at"),
            models.Index(fields=["action", "-at"], name="audit_action_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_type}"
