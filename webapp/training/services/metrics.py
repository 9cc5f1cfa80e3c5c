"""The trainer's metrics.jsonl into TrainingMetric rows (ingestion, in the worker) and out of
them again for charts (downsampled in SQL: a chart never reads more than max_points rows).

The file is appended line by line; on a resume the trainer rewrites it without the lines past
its checkpoint, so it can shrink or be replaced: the tailer then reads it again from the
start (rows are upserted by (run, kind, step), so re-reading is harmless)."""

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from webapp.training.models import MetricKind, TrainingMetric, TrainingRun

STEP_SERIES = ("loss", "dino", "ibot", "koleo", "lr", "wd", "images_per_s", "gpu_mem_mb")
# What a step row keeps of its line (the run row has the latest line in full).
STEP_KEYS = (*STEP_SERIES, "momentum", "teacher_temp", "total_steps", "eta_s", "time")
MAX_POINTS = 5000
BATCH = 1000
READ_BYTES = 4 << 20  # per poll: a resumed run's long file is caught up over a few polls


@dataclass
class Update:
    """What one read of the file found: rows to upsert and the latest of each kind."""

    steps: dict[int, dict] = field(default_factory=dict)
    evals: dict[int, dict] = field(default_factory=dict)
    last_step: dict | None = None
    last_eval: dict | None = None
    event: dict | None = None

    def __bool__(self) -> bool:
        return bool(self.steps or self.evals or self.event)


@dataclass
class Tailer:
    """Reads the complete lines appended to a metrics.jsonl since the last call.

    `ignore_past`/`stale_until`: on a resume the file left by the previous attempt may hold
    lines past the checkpoint until the trainer rewrites it; lines past `ignore_past` in the
    first `stale_until` bytes of the file as it was are skipped, until it shrinks or is
    replaced."""

    path: Path
    ignore_past: int | None = None
    stale_until: int = 0
    offset: int = 0
    inode: int | None = None
    _rest: bytes = b""

    @classmethod
    def at_start(cls, path: Path, checkpoint_step: int | None) -> "Tailer":
        try:
            st = path.stat()
        except FileNotFoundError:
            return cls(path)
        return cls(path, ignore_past=checkpoint_step or 0, stale_until=st.st_size, inode=st.st_ino)

    def read(self) -> Update:
        update = Update()
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return update
        with handle:
            st = os.fstat(handle.fileno())
            if st.st_size < self.offset or (self.inode is not None and st.st_ino != self.inode):
                # Rewritten (a resume): read the new file from its start, trust it entirely.
                self.offset, self._rest, self.ignore_past = 0, b"", None
            self.inode = st.st_ino
            handle.seek(self.offset)
            chunk = handle.read(READ_BYTES)
        start = self.offset - len(self._rest)
        self.offset += len(chunk)
        data = self._rest + chunk
        lines = data.split(b"\n")
        self._rest = lines.pop()  # an incomplete last line waits for the next read
        position = start
        for raw in lines:
            position += len(raw) + 1
            stale = self.ignore_past is not None and position <= self.stale_until
            self._take(raw, update, skip_past=self.ignore_past if stale else None)
        if self.ignore_past is not None and self.offset >= self.stale_until:
            self.ignore_past = None
        return update

    @staticmethod
    def _take(raw: bytes, update: Update, skip_past: int | None) -> None:
        try:
            line = json.loads(raw)
            step = int(line["step"])
        except (ValueError, KeyError, TypeError):
            return  # not a metrics line (or torn): nothing to chart
        if not isinstance(line, dict) or step < 0:
            return
        if skip_past is not None and step > skip_past:
            return
        if "event" in line:
            update.event = line
        elif isinstance(line.get("eval"), dict):
            update.evals[step] = line["eval"]
            update.last_eval = {"step": step, **line["eval"]}
        else:
            update.steps[step] = {k: line.get(k) for k in STEP_KEYS}
            update.last_step = line


def store(run_id: int, update: Update) -> None:
    """Upsert the update's rows in batches: a line read twice (a re-read after a resume)
    replaces its row."""
    rows = [
        TrainingMetric(run_id=run_id, kind=MetricKind.STEP, step=s, values=v)
        for s, v in update.steps.items()
    ] + [
        TrainingMetric(run_id=run_id, kind=MetricKind.EVAL, step=s, values=v)
        for s, v in update.evals.items()
    ]
    for i in range(0, len(rows), BATCH):
        TrainingMetric.objects.bulk_create(
            rows[i : i + BATCH],
            update_conflicts=True,
            unique_fields=["run", "kind", "step"],
            update_fields=["values"],
        )


# -- reading for charts -----------------------------------------------------------------------


def _sample(run: TrainingRun, kind: str, max_points: int) -> list[tuple[int, dict]]:
    """At most max_points rows of a kind, evenly spaced by rank, the first and last always
    in. Two bounded queries: the ranks over the (run, kind, step) index, then the rows."""
    rows = TrainingMetric.objects.filter(run=run, kind=kind)
    count = rows.count()
    if count > max_points:
        stride = math.ceil((count - 1) / (max_points - 1))
        ranked = rows.annotate(rank=Window(RowNumber(), order_by=F("step").asc()))
        # rank - 1 in {0, stride, 2·stride, …} gives ≤ max_points - 1 + 1 rows including the
        # last whenever that is a multiple; the last is added otherwise (still ≤ max_points:
        # see the arithmetic in the tests).
        picked = ranked.filter(rank__in=[*range(1, count + 1, stride), count])
        steps = list(picked.values_list("step", flat=True))
        rows = rows.filter(step__in=steps)
    return list(rows.order_by("step").values_list("step", "values"))


def run_metrics(run: TrainingRun, max_points: int = 500) -> dict:
    """Columns for the step charts and the evaluations, each at most max_points long."""
    max_points = max(2, min(int(max_points), MAX_POINTS))
    steps = _sample(run, MetricKind.STEP, max_points)
    series = {"step": [s for s, _ in steps]}
    for key in STEP_SERIES:
        series[key] = [v.get(key) for _, v in steps]
    evals = [{"step": s, **v} for s, v in _sample(run, MetricKind.EVAL, max_points)]
    return {"steps": series, "eval": evals}
