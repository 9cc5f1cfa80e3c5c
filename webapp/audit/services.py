"""Recording changes. Callers pass what changed; this module only writes rows."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from webapp.audit.models import AuditEvent


@dataclass
class Change:
    action: str
    object_type: str
    object_id: Any = ""
    slide_id: int | None = None
    before: Any = None
    after: Any = None


def audit_record(*, actor, changes: Iterable[Change]) -> int:
    """Append one row per change (in the caller's transaction); returns how many."""
    rows = [
        AuditEvent(
            actor=actor if actor and actor.pk else None,
            actor_name=getattr(actor, "username", "") or "system",
            action=c.action,
            object_type=c.object_type,
            object_id=str(c.object_id),
            slide_id=c.slide_id,
            before=c.before,
            after=c.after,
        )
        for c in changes
    ]
    AuditEvent.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def audit_one(*, actor, **change) -> None:
    audit_record(actor=actor, changes=[Change(**change)])
