"""The Celery app: queues io (registration, thumbnails), cpu (tiling, features, sampling,
exports) and gpu (embedding, clustering, training).

Tasks are routed by name prefix, acknowledged late so a killed worker's task is redelivered,
and serialised as JSON only.
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("rudolfv")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue("io"), Queue("cpu"), Queue("gpu")]
app.conf.task_default_queue = "cpu"
app.autodiscover_tasks()
