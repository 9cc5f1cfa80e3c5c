"""A daemon thread refreshing a row's `heartbeat_at` while a long step reports nothing
(training k-means, one big slide, the CSV copy of a large manifest), so that a dead worker's
job shows as interrupted and a live one never does. Used in workers; the thread has its own
database connection."""

import logging
import threading

from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)


class Heartbeat:
    """`queryset.update(heartbeat_at=now, **also)` every `every` seconds between `start()`
    and `stop()` (or within `with Heartbeat(...)`); `also` can revive a row another process
    marked interrupted. With `enabled=False` (in-process calls: the caller's own progress
    writes are its heartbeat) both do nothing."""

    def __init__(self, queryset, every: float, *, enabled: bool = True, **also):
        self.queryset, self.every, self.also, self.enabled = queryset, every, also, enabled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    self.queryset.update(heartbeat_at=timezone.now(), **self.also)
                except Exception:  # noqa: BLE001 - a missed beat is not worth a crash
                    logger.warning("Heartbeat failed: %s", self.queryset.query)
        finally:
            connection.close()

    def start(self) -> "Heartbeat":
        if self.enabled:
            self._thread.start()
        return self

    def stop(self) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join(timeout=10)

    def __enter__(self) -> "Heartbeat":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
