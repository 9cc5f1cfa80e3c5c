"""Training on CPU: the data pipeline against raw reads of the same tiles, and step throughput.

Data: generated pyramidal slides (two generic TIFFs at 0.5 µm/px and an Aperio-layout SVS at
0.25 µm/px, made once under BENCH_DIR) tiled by the project's planner (`plan_slide`: tissue
detection, the paper's 256-px tiles at 0.5 µm/px on a 128-px grid) and 2,000 of those tiles,
evenly spread, written as a manifest with the columns `ManifestIndex` reads. Per-slide stain
statistics by `precompute_stain_stats` (timed).

Pipeline, same tiles, interleaved round by round (the machine is shared):
- raw: `ReaderCache.read` of the tiles of the timed steps, in a loop, one process;
- ours: `batch_iterator` over `StepBatches` with the `vit_s_single_gpu` recipe (2 × 224 global
  and 8 × 98 local crops, Reinhard transfer with the precomputed statistics, rot90/flip,
  colour jitter, grey, blur, iBOT masks), batch 32. As trained (``augment_on="device"``) the
  workers read the tiles and draw every random choice, the training device makes the crops:
  1 DataLoader worker (the per-worker figure the goal is about) and 2 workers; then the
  device half (`augment_batch`) on this CPU, one torch thread, on batches made beforehand;
- everything in the worker (``augment_on="workers"``, the crops made by torchvision
  transforms there), 1 worker: the design the split replaced.
The first batch of each variant (worker start, slide opening) is not timed. tiles/s from wall
time; tiles per CPU second from the CPU time of the process and its waited-for workers over the
whole variant (warm-up included), which other work on the machine inflates far less.
A profile of one in-process batch: time per stage (reads, stain transfer, each transform of
the crops, masks, the rest of the collate) and cProfile's top functions.

Steps: `Trainer.train_step` on pre-built batches (real tiles through the recipe's collate, two
batches used in turn): the `cpu_smoke` preset (vit_tiny_patch16_224 at 32 / 16 px crops,
batch 4) and ViT-S/14 (`vit_small_patch14_reg4_dinov2`, the `vit_s_single_gpu` heads with
65,536 prototypes) at 98 / 42 px crops, batch 8, each with and without `grad_checkpointing`,
interleaved step by step; one untimed step first; torch on one thread (BENCH_TRAINING_THREADS).

Nothing is asserted on time. Run through `scripts/bench`, or: python -m bench.training_bench
"""

import argparse
import cProfile
import json
import os
import pstats
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench import common

DATA_VERSION = 1  # bump when the slides or the manifest change: they are rebuilt
TILE_SIZE, TARGET_MPP, STRIDE = 256, 0.5, 128
TILES = 2000
BATCH = 32
GOAL = 0.7  # ours (one worker) ÷ raw reads, tiles/s
ROUNDS = int(os.environ.get("BENCH_TRAINING_ROUNDS", "2"))
PIPELINE_STEPS = int(os.environ.get("BENCH_TRAINING_STEPS", "5"))  # timed batches per variant
SMOKE_STEPS = int(os.environ.get("BENCH_TRAINING_SMOKE_STEPS", "20"))
VITS_STEPS = int(os.environ.get("BENCH_TRAINING_VITS_STEPS", "2"))
PROFILE_BATCHES = 2
# torch threads for the steps. One: with two on this shared 2-core machine, step times swung
# tenfold within a run (cpu_smoke 0.08–2.3 s: OpenMP threads wait for one another whenever
# one of them is descheduled), so the figures are per core.
THREADS = int(os.environ.get("BENCH_TRAINING_THREADS", "1"))


def _slides():
    from curation.synthetic_slides import DemoSlideSpec

    return (
        DemoSlideSpec("train-a.tiff", 12000, 9000, 0.5, seed=11, vendor="generic-tiff"),
        DemoSlideSpec(
            "train-b.svs",
            16384,
            12288,
            0.25,
            seed=12,
            vendor="aperio",
            objective_power=40,
            label_text="TRAIN-B",
        ),
        DemoSlideSpec("train-c.tiff", 10000, 8000, 0.5, seed=13, vendor="generic-tiff"),
    )


# --- data ------------------------------------------------------------------------------------


def work_dir() -> Path:
    return common.BENCH_DIR / "training"


def build_data(rebuild: bool = False) -> dict:
    """The slides and the manifest (made once; the build's figures are kept beside it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.atomic import atomic_write
    from curation.slide_reader import SlideReader
    from curation.synthetic_slides import make_demo_slides
    from curation.tiling import TilingConfig, plan_slide

    manifest = work_dir() / f"manifest-v{DATA_VERSION}.parquet"
    info_path = manifest.with_suffix(".json")
    if manifest.is_file() and info_path.is_file() and not rebuild:
        return {**json.loads(info_path.read_text()), "manifest": str(manifest), "built_now": False}
    common.log("generating the slides and the manifest (once)")
    start = time.perf_counter()
    paths = make_demo_slides(work_dir() / "slides", _slides())
    slides_s = time.perf_counter() - start
    config = TilingConfig(tile_size=TILE_SIZE, target_mpp=TARGET_MPP, stride=STRIDE)
    cols = defaultdict(list)
    per_slide = {}
    for slide_id, path in enumerate(paths, start=1):
        with SlideReader(path) as reader:
            grid, _, _ = plan_slide(reader, config)
            mpp = reader.mpp
        n = len(grid)
        per_slide[path.name] = {"mpp": mpp, "tissue_tiles": n, "read_size": round(grid.size)}
        cols["slide_id"] += [slide_id] * n
        cols["slide_path"] += [str(path)] * n
        cols["x"] += grid.x.tolist()
        cols["y"] += grid.y.tolist()
        cols["read_size"] += [round(grid.size)] * n
    total = len(cols["x"])
    pick = np.unique(np.linspace(0, total - 1, min(TILES, total)).astype(np.int64))
    n = len(pick)
    table = pa.table(
        {
            "slide_id": pa.array(np.asarray(cols["slide_id"])[pick], pa.int64()),
            "slide_path": pa.array([cols["slide_path"][i] for i in pick], pa.string()),
            "x": pa.array(np.asarray(cols["x"])[pick], pa.int64()),
            "y": pa.array(np.asarray(cols["y"])[pick], pa.int64()),
            "read_size": pa.array(np.asarray(cols["read_size"])[pick], pa.int32()),
            "tile_size": pa.array(np.full(n, TILE_SIZE), pa.int32()),
            "target_mpp": pa.array(np.full(n, TARGET_MPP), pa.float32()),
            "split": pa.array(["train"] * n, pa.string()),
            "group": pa.array(["bench"] * n, pa.string()),
            "category": pa.array(["tissue"] * n, pa.string()),
            "weight": pa.array(np.ones(n), pa.float64()),
        }
    )
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(manifest) as tmp:
        pq.write_table(table, tmp)
    info = {
        "slides": per_slide,
        "tiles": n,
        "tissue_tiles": total,
        "slides_s": round(slides_s, 1),
        "built_at": common.machine()["date"],
    }
    with atomic_write(info_path) as tmp:
        tmp.write_text(json.dumps(info, indent=2))
    return {**info, "manifest": str(manifest), "built_now": True}


# --- timing helpers ----------------------------------------------------------------------------


def _cpu_seconds() -> float:
    """CPU seconds of this process and its waited-for children (DataLoader workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _recipe(**changes):
    from trainer.train.recipe import vit_s_single_gpu

    return vit_s_single_gpu(batch_size=BATCH, **changes)


def _dataset(index, recipe, stats, patch: int = 14):
    from trainer.cli import _collate
    from trainer.data.manifest_source import StepBatches, StepSampler

    sampler = StepSampler(index, recipe.batch_size, recipe.seed, recipe.sampling)
    return StepBatches(index, sampler, _collate(recipe, patch, stats), recipe.seed), sampler


def time_raw(index, sampler, steps: int) -> dict:
    """`ReaderCache.read` of the rows of steps 1..steps (step 0, untimed, opens the slides)."""
    from curation.tile_loader import ReaderCache

    rows = [[index.row(int(i)) for i in sampler.indices(s)] for s in range(steps + 1)]
    cpu0 = _cpu_seconds()
    cache = ReaderCache()
    for row in rows[0]:
        cache.read(row)
    start = time.perf_counter()
    n = 0
    for step_rows in rows[1:]:
        for row in step_rows:
            cache.read(row)
            n += 1
    wall = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu0
    cache.close()
    return _rates(n, wall, len(rows) * len(rows[0]), cpu)


def time_pipeline(dataset, steps: int, workers: int) -> dict:
    """`batch_iterator` over ``max(1, workers) + steps`` batches: the first batch of each worker
    (worker start, slide opening; with 2 workers the second batch is made beside the first) is
    not timed, the ``steps`` after it are."""
    from trainer.data.manifest_source import batch_iterator

    warm = max(1, workers)
    cpu0 = _cpu_seconds()
    batches = batch_iterator(dataset, 0, warm + steps, workers)
    warm_tiles = sum(len(next(batches)["slide_ids"]) for _ in range(warm))
    start = time.perf_counter()
    n = 0
    for batch in batches:  # exhausting it joins the workers: their CPU time is counted
        n += len(batch["slide_ids"])
    wall = time.perf_counter() - start
    del batches
    cpu = _cpu_seconds() - cpu0
    return _rates(n, wall, n + warm_tiles, cpu)


def _rates(tiles: int, wall: float, all_tiles: int, cpu: float) -> dict:
    return {
        "tiles": tiles,
        "seconds": round(wall, 3),
        "tiles_per_s": round(tiles / wall, 1),
        "cpu_seconds": round(cpu, 2),
        "tiles_per_cpu_s": round(all_tiles / cpu, 1) if cpu > 0 else None,
    }


def time_device(dataset, steps: int) -> dict:
    """The device half (`augment_batch`) on this CPU: batches of steps 1..steps made first,
    then augmented one after the other."""
    import torch

    from trainer.data.device_augment import augment_batch

    config = _recipe().multicrop_config()
    batches = [dataset[s] for s in range(1, steps + 1)]
    cpu0 = _cpu_seconds()
    start = time.perf_counter()
    n = 0
    for batch in batches:
        out = augment_batch(batch, config, torch.device("cpu"))
        n += out["global"].shape[0] // 2
    wall = time.perf_counter() - start
    return _rates(n, wall, n, _cpu_seconds() - cpu0)


PIPELINE_VARIANTS = (
    ("raw", "raw reads (`ReaderCache.read` in a loop)", None),
    ("ours_w1", "ours, workers read and draw (as trained), 1 worker", 1),
    ("ours_w2", "ours, workers read and draw, 2 workers", 2),
    ("device_cpu", "ours, the device half (`augment_batch`) on this CPU, 1 thread", None),
    ("workers_aug_w1", 'everything in the worker (`augment_on="workers"`), 1 worker', 1),
)


def run_pipeline(index, stats) -> dict:
    import torch

    torch.set_num_threads(1)
    datasets = {
        "ours": _dataset(index, _recipe(), stats),
        "workers": _dataset(index, _recipe(augment_on="workers"), stats),
    }
    sampler = datasets["ours"][1]
    rounds = []
    for r in range(ROUNDS):
        result = {}
        for key, label, workers in PIPELINE_VARIANTS:
            common.log(f"pipeline round {r + 1}/{ROUNDS}: {label}")
            if key == "raw":
                result[key] = time_raw(index, sampler, PIPELINE_STEPS)
            elif key == "device_cpu":
                result[key] = time_device(datasets["ours"][0], PIPELINE_STEPS)
            else:
                dataset = datasets["workers" if key.startswith("workers") else "ours"][0]
                result[key] = time_pipeline(dataset, PIPELINE_STEPS, workers)
        result["ratio_w1"] = round(
            result["ours_w1"]["tiles_per_s"] / result["raw"]["tiles_per_s"], 3
        )
        rounds.append(result)
    best = {}
    for key, label, workers in PIPELINE_VARIANTS:
        runs = [r[key] for r in rounds]
        top = max(runs, key=lambda x: x["tiles_per_s"])
        best[key] = {
            **top,
            "label": label,
            "workers": workers,
            "tiles_per_s_rounds": [x["tiles_per_s"] for x in runs],
            "tiles_per_cpu_s": max(x["tiles_per_cpu_s"] or 0 for x in runs),
        }
        if workers:
            best[key]["tiles_per_s_per_worker"] = round(top["tiles_per_s"] / workers, 1)
    raw = best["raw"]
    ratios = {
        key: round(best[key]["tiles_per_s"] / raw["tiles_per_s"], 3)
        for key, _, workers in PIPELINE_VARIANTS
        if key != "raw"
    }
    ratios["w2_per_worker"] = round(
        best["ours_w2"]["tiles_per_s_per_worker"] / raw["tiles_per_s"], 3
    )
    cpu_ratio = round(best["ours_w1"]["tiles_per_cpu_s"] / raw["tiles_per_cpu_s"], 3)
    return {
        "steps_timed": PIPELINE_STEPS,
        "batch": BATCH,
        "rounds": ROUNDS,
        "variants": best,
        "per_round": rounds,
        "ratios": ratios,
        "ratio_per_cpu_s_w1": cpu_ratio,
        "goal": GOAL,
        "goal_met": ratios["ours_w1"] >= GOAL,
    }


# --- profile ------------------------------------------------------------------------------------


def _transform_name(transform) -> str:
    inner = getattr(transform, "transforms", None)
    name = type(transform).__name__
    if name == "RandomApply" and inner:
        return f"{type(inner[0]).__name__} (p={transform.p:g})"
    if name == "RandomGrayscale":
        return f"RandomGrayscale (p={transform.p:g})"
    return name


def profile_pipeline(index, stats) -> dict:
    """Time per stage of in-process batches with everything in the worker (the design the
    device split replaced; wrappers around each part, no profiler running), then cProfile's
    top functions over one more batch."""
    import torch

    torch.set_num_threads(1)
    dataset, _ = _dataset(index, _recipe(augment_on="workers"), stats)
    dataset[0]  # opens the slides
    stages: dict[str, float] = defaultdict(float)

    def timed(name, fn):
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                stages[name] += time.perf_counter() - start

        return call

    collate = dataset.collate
    aug = collate.aug
    dataset._read = timed("read tiles (`ReaderCache.read`)", dataset._read)
    collate.stain = timed("stain transfer (Reinhard, batch)", collate.stain)
    collate.mask_generator.mask_batch = timed("iBOT block masks", collate.mask_generator.mask_batch)
    for kind, compose in (("global", aug.global1), ("global", aug.global2), ("local", aug.local)):
        compose.transforms = [
            timed(f"{kind} crops: {_transform_name(t)}", t) for t in compose.transforms
        ]
    for attr, kind in (("global1", "global"), ("global2", "global"), ("local", "local")):
        setattr(aug, attr, timed(f"{kind} crops (all)", getattr(aug, attr)))
    start = time.perf_counter()
    for step in range(1, PROFILE_BATCHES + 1):
        dataset[step]
    whole = time.perf_counter() - start
    tiles = PROFILE_BATCHES * BATCH
    parts = ("read tiles (`ReaderCache.read`)", "stain transfer (Reinhard, batch)")
    crops = ("global crops (all)", "local crops (all)")
    accounted = sum(stages[k] for k in (*parts, *crops, "iBOT block masks"))
    stage_rows = [
        {"stage": k, "ms_per_tile": round(1000 * v / tiles, 3), "share": round(v / whole, 3)}
        for k, v in sorted(stages.items(), key=lambda kv: -kv[1])
    ]
    rest = whole - accounted
    stage_rows.append(
        {
            "stage": "rest (rows, tensor conversion, stacking the crops)",
            "ms_per_tile": round(1000 * rest / tiles, 3),
            "share": round(rest / whole, 3),
        }
    )

    fresh, _ = _dataset(index, _recipe(augment_on="workers"), stats)
    fresh[0]
    profiler = cProfile.Profile()
    profiler.enable()
    fresh[PROFILE_BATCHES + 1]
    profiler.disable()
    stats_obj = pstats.Stats(profiler)
    total = stats_obj.total_tt
    top = sorted(stats_obj.stats.items(), key=lambda kv: -kv[1][2])[:12]
    functions = [
        {
            "function": f"{Path(file).name}:{line}({name})" if file != "~" else name,
            "calls": calls,
            "tottime_s": round(tt, 3),
            "share": round(tt / total, 3),
        }
        for (file, line, name), (_, calls, tt, _, _) in top
    ]
    return {
        "batches": PROFILE_BATCHES,
        "tiles": tiles,
        "ms_per_tile": round(1000 * whole / tiles, 2),
        "stages": stage_rows,
        "cprofile_total_s": round(total, 3),
        "cprofile_top": functions,
    }


# --- steps ------------------------------------------------------------------------------------


def _step_configs() -> list[tuple[str, str, object, int]]:
    from trainer.train.recipe import cpu_smoke, vit_s_single_gpu

    return [
        ("cpu_smoke", "`cpu_smoke`: vit_tiny_patch16_224, 32 / 16 px crops", cpu_smoke(), 16,
         SMOKE_STEPS),
        (
            "vit_s14_small",
            "ViT-S/14 reg4 (`vit_s_single_gpu` heads), 98 / 42 px crops",
            vit_s_single_gpu(global_crops_size=98, local_crops_size=42, batch_size=8),
            14,
            VITS_STEPS,
        ),
    ]  # fmt: skip


def run_steps(index, stats) -> dict:
    import torch

    from trainer.train.loop import Trainer

    threads = THREADS
    torch.set_num_threads(threads)
    out = {"torch_threads": threads, "configs": []}
    for key, label, recipe, patch, steps in _step_configs():
        common.log(f"steps: {label}")
        torch.set_num_threads(1)
        dataset, _ = _dataset(index, recipe, stats, patch)
        batches = [dataset[s] for s in range(2)]
        torch.set_num_threads(threads)
        trainers = {}
        with tempfile.TemporaryDirectory() as tmp:
            for gc in (False, True):
                trainer = Trainer(recipe.replace(grad_checkpointing=gc), lambda s: iter(()),
                                  Path(tmp) / str(gc), "cpu")  # fmt: skip
                trainer.train_step(batches[0])  # untimed
                trainers[gc] = trainer
            walls = {False: [], True: []}
            for i in range(steps):  # interleaved step by step
                for gc in (False, True):
                    start = time.perf_counter()
                    trainers[gc].train_step(batches[i % 2])
                    walls[gc].append(time.perf_counter() - start)
        params = sum(p.numel() for p in trainers[False].model.student.parameters())
        row = {
            "key": key,
            "label": label,
            "model": recipe.model,
            "global_crops": recipe.global_crops_size,
            "local_crops": f"{recipe.local_crops_number} × {recipe.local_crops_size}",
            "batch": recipe.batch_size,
            "prototypes": recipe.prototypes,
            "student_params_m": round(params / 1e6, 1),
            "steps_timed": len(walls[False]),
        }
        for gc, name in ((False, "plain"), (True, "grad_checkpointing")):
            median = statistics.median(walls[gc])
            row[name] = {
                "step_s_median": round(median, 4),
                "step_s_all": [round(w, 3) for w in walls[gc]],
                "steps_per_s": round(1 / median, 3),
                "images_per_s": round(recipe.batch_size / median, 2),
            }
        row["checkpointing_slowdown"] = round(
            row["grad_checkpointing"]["step_s_median"] / row["plain"]["step_s_median"], 3
        )
        out["configs"].append(row)
        del trainers
    return out


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="regenerate slides and manifest")
    parser.add_argument("--skip-steps", action="store_true", help="the data pipeline only")
    args = parser.parse_args()
    import torch

    from trainer.data.manifest_source import ManifestIndex, precompute_stain_stats

    common.warn_if_busy()
    machine = common.machine()
    started = time.perf_counter()
    data = build_data(args.rebuild)
    index = ManifestIndex.read(data["manifest"])
    start = time.perf_counter()
    stats = precompute_stain_stats(index, tiles_per_slide=4, workers=0)
    data["stain_stats_s"] = round(time.perf_counter() - start, 2)
    pipeline = run_pipeline(index, stats)
    common.log("profile of in-process batches")
    profile = profile_pipeline(index, stats)
    steps = None if args.skip_steps else run_steps(index, stats)
    result = {
        "machine": machine,
        "torch": torch.__version__,
        "data": {
            **data,
            "tile_size": TILE_SIZE,
            "target_mpp": TARGET_MPP,
            "stride": STRIDE,
            "manifest": Path(data["manifest"]).name,
        },
        "pipeline": pipeline,
        "profile": profile,
        "steps": steps,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "bench_seconds": round(time.perf_counter() - started, 1),
    }
    common.write_json("training", result)
    p = pipeline
    common.log(
        f"raw {p['variants']['raw']['tiles_per_s']} tiles/s, ours 1 worker "
        f"{p['variants']['ours_w1']['tiles_per_s']} tiles/s: {p['ratios']['ours_w1']:.2f}× "
        f"(goal {GOAL})"
    )


if __name__ == "__main__":
    main()
