"""Database helpers shared by the services."""

from django.db import IntegrityError, models, transaction

from webapp.core.errors import ServiceError


def save_unique(instance: models.Model, message: str) -> models.Model:
    """Save `instance`; a unique-constraint clash becomes a ServiceError (400) with `message`.

    The savepoint keeps the caller's transaction usable after the clash.
    """
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ServiceError(message, code="duplicate") from exc
    return instance
