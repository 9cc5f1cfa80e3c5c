"""The Celery app: queues io (registration, thumbnails), cpu (tiling, features, sampling,
exports) and gpu (embedding, clustering, training).

Tasks are routed by name prefix, acknowledged late so a killed worker's task is redelivered,
and serialised as JSON only.
"""

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

QUEUES = ("io", "cpu", "gpu")

app = Celery("rudolfv")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name, Exchange(name), routing_key=name) for name in QUEUES]
app.conf.task_default_queue = "cpu"
app.autodiscover_tasks()
