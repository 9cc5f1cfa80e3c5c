"""A daemon thread refreshing a row's `heartbeat_at` while a long step reports nothing (one
big slide, the CSV copy of a large manifest). Used in workers; it has its own connection."""

import logging
import threading

from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, queryset, every: float):
        self.queryset, self.every = queryset, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="dataset-heartbeat", daemon=True)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    self.queryset.update(heartbeat_at=timezone.now())
                except Exception:  # noqa: BLE001 - a missed beat is not worth a crash
                    logger.warning("Heartbeat failed: %s", self.queryset.query)
        finally:
            connection.close()

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
