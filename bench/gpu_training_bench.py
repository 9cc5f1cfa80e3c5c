"""Training throughput on one GPU: images/s and peak memory of `Trainer.train_step` for ViT-S/14
and ViT-L/14 with registers, bf16 autocast (as the Trainer runs on CUDA), synthetic tiles.

The recipes are the presets: `vit_s_single_gpu` (vit_small_patch14_reg4_dinov2, DINO/iBOT
heads with 65,536 prototypes) and `paper_vit_l14` (vit_large_patch14_reg4_dinov2, separate
DINO and iBOT heads with 131,072 prototypes each), random init, 2 × 224 px global and
8 × 98 px local crops, at a few batch sizes each (an out-of-memory error is recorded, not
fatal). The batches are random uint8 pixels already collated and normalised, on the GPU, with
the recipe's iBOT block masks: no slide I/O, no augmentation, no host-to-device copy (what is
measured is the step itself). Per configuration: warm-up steps, then timed steps
(`torch.cuda.synchronize` around them); images/s = batch × timed steps ÷ seconds (an image is
a tile: its 2 global and 8 local crops); peak memory = `torch.cuda.max_memory_allocated`
(and reserved) over the configuration's steps.

Reference: the DINOv2 README gives training wall times, not throughput; the figure used is
derived from its "long setup" (ViT-L/14 on ImageNet-22k, 96 A100-80GB GPUs, about 3.3 days)
with that run's config `vitl14.yaml` (32 images per GPU per iteration, 500 epochs of 1,250
iterations): 500 × 1,250 × 32 ÷ (3.3 × 86,400 s) ≈ 70 images/s per A100. It includes data
loading, evaluation and multi-node communication and uses xFormers and FSDP; an H100 should be
faster per GPU. The README has no ViT-S training time: no reference there.

    python -m bench.gpu_training_bench                      # one GPU, ~3-5 minutes on an H100
    python -m bench.gpu_training_bench --compile --grad-checkpointing --json bench/out/x.json
    python -m bench.gpu_training_bench --device cpu --tiny  # checks that it runs (no GPU)
"""

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import common

DEFAULT_JSON = common.OUT / "gpu_training.json"
SECONDS_PER_DAY = 86_400
REFERENCE = {
    "vit_large_patch14_reg4_dinov2": {
        "images_per_s_per_gpu": round(500 * 1250 * 32 / (3.3 * SECONDS_PER_DAY), 1),
        "gpu": "A100-80GB",
        "source": "DINOv2 README/paper: 'Long setup: training DINOv2 ViT-L/14 on ImageNet-22k', "
        "12 nodes × 8 A100-80GB, 'approximately 3.3 days', with configs/train/vitl14.yaml "
        "(batch_size_per_gpu 32, 500 epochs × 1,250 iterations): 500 × 1,250 × 32 images per "
        "GPU ÷ (3.3 × 86,400 s); derived from wall time (data loading, evaluation and "
        "communication included)",
    },
    "vit_small_patch14_reg4_dinov2": None,  # the README gives no ViT-S training time
}
REFERENCE_NOTE = (
    "DINOv2 README/paper reference: derived from the README's ViT-L/14 ImageNet-22k run "
    "(~70 images/s per A100-80GB); the README gives no ViT-S/14 training time (–)."
)


def _configs(tiny: bool, batch_sizes: dict | None):
    from trainer.train.recipe import cpu_smoke, paper_vit_l14, vit_s_single_gpu

    if tiny:
        # vit_tiny at 32 / 16 px, 2 local crops, tiny heads: a check that the script runs
        return [("tiny", lambda **kw: cpu_smoke(**kw), (batch_sizes or {}).get("tiny", (4,)))]
    sizes = {"S": (64, 128), "L": (32, 64), **(batch_sizes or {})}
    return [
        ("ViT-S/14", lambda **kw: vit_s_single_gpu(**kw), sizes["S"]),
        ("ViT-L/14", lambda **kw: paper_vit_l14(weights=None, **kw), sizes["L"]),
    ]


def synthetic_batch(recipe, batch_size: int, patch: int, device, seed: int = 0) -> dict:
    """Random uint8 256 px tiles from 4 "slides" through the recipe's worker-side collate
    (`DeviceCropCollate`: crop boxes, jitter, blur, stain donors, iBOT masks drawn), so that
    each timed step includes the augmentation on the GPU (`augment_batch`) as training does."""
    import numpy as np
    import torch

    from trainer.cli import _collate
    from trainer.data import PerSlideStats, stain_stats

    rng = np.random.default_rng(seed)
    tiles = rng.integers(0, 256, (batch_size, 256, 256, 3), dtype=np.uint8)
    stats = PerSlideStats({i: stain_stats(tiles[i]) for i in range(min(4, batch_size))})
    samples = [(tiles[i], {"slide_id": i % 4}) for i in range(batch_size)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        batch = _collate(recipe, patch, stats)(samples)
    batch["tiles"] = batch["tiles"].to(device)  # a prefetching loader has them there already
    return batch


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_one(name: str, factory, batch_size: int, args, device) -> dict:
    import torch

    from trainer.train.loop import Trainer

    recipe = factory(
        batch_size=batch_size, grad_checkpointing=args.grad_checkpointing, compile=args.compile
    )
    row = {
        "name": name,
        "model": recipe.model,
        "batch": batch_size,
        "prototypes": recipe.prototypes,
        "ibot_separate_head": recipe.ibot_separate_head,
        "global_crops": recipe.global_crops_size,
        "local_crops": f"{recipe.local_crops_number} × {recipe.local_crops_size}",
        "compile": args.compile,
        "grad_checkpointing": args.grad_checkpointing,
    }
    trainer = None
    start = time.perf_counter()
    try:
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(recipe, lambda step: iter(()), tmp, device)
            patch = trainer.model.student["backbone"].patch_embed.patch_size[0]
            batch = synthetic_batch(recipe, batch_size, patch, device)
            warm_start = time.perf_counter()
            for _ in range(args.warmup):
                trainer.train_step(batch)
            _sync(device)
            row["warmup_s"] = round(time.perf_counter() - warm_start, 2)
            walls = []
            _sync(device)
            timed_start = time.perf_counter()
            for _ in range(args.steps):
                step_start = time.perf_counter()
                trainer.train_step(batch)  # reads the loss back: the step has finished
                walls.append(time.perf_counter() - step_start)
            _sync(device)
            seconds = time.perf_counter() - timed_start
        row.update(
            status="ok",
            steps=args.steps,
            seconds=round(seconds, 3),
            step_s_median=round(statistics.median(walls), 4),
            images_per_s=round(batch_size * args.steps / seconds, 1),
            loss_last=round(trainer.last_metrics["loss"], 4),
        )
        if device.type == "cuda":
            row["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
            row["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved(device) / 2**30, 2)
    except torch.cuda.OutOfMemoryError as error:
        row.update(status="OOM", error=str(error).splitlines()[0][:300])
    finally:
        row["total_s"] = round(time.perf_counter() - start, 1)
        del trainer
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    reference = REFERENCE.get(recipe.model)
    row["reference_images_per_s"] = reference["images_per_s_per_gpu"] if reference else None
    figure = f"{row['images_per_s']} images/s" if row["status"] == "ok" else row["status"]
    common.log(f"{name} batch {batch_size}: {figure}")
    return row


def _parse_sizes(text: str | None) -> dict | None:
    """'S:64,128;L:32,64' → {"S": (64, 128), "L": (32, 64)}."""
    if not text:
        return None
    out = {}
    for part in text.split(";"):
        key, _, values = part.partition(":")
        out[key.strip()] = tuple(int(v) for v in values.split(",") if v.strip())
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--tiny", action="store_true", help="a tiny model, 2 steps (a check)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 10)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps (default 3)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the blocks")
    parser.add_argument("--grad-checkpointing", action="store_true")
    parser.add_argument("--batch-sizes", help="e.g. 'S:64,128;L:32,64' (tiny: 'tiny:4')")
    parser.add_argument("--json", type=Path, default=None, help=f"default {DEFAULT_JSON}")
    args = parser.parse_args(argv)
    args.steps = args.steps or (2 if args.tiny else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.tiny else 3)

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("no GPU visible to torch: run on a GPU machine, or --device cpu --tiny")
    device = torch.device(args.device)
    gpu = None
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        gpu = {"name": props.name, "memory_gib": round(props.total_memory / 2**30, 1)}
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    started = time.perf_counter()
    rows = [
        run_one(name, factory, bs, args, device)
        for name, factory, sizes in _configs(args.tiny, _parse_sizes(args.batch_sizes))
        for bs in sizes
    ]
    result = {
        "machine": common.machine(),
        "gpu": gpu,
        "device": device.type,
        "tiny": args.tiny,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "precision": "bf16 autocast" if device.type == "cuda" else "fp32 (CPU)",
        "warmup_steps": args.warmup,
        "timed_steps": args.steps,
        "compile": args.compile,
        "grad_checkpointing": args.grad_checkpointing,
        "runs": rows,
        "reference": REFERENCE,
        "reference_note": REFERENCE_NOTE,
        "bench_seconds": round(time.perf_counter() - started, 1),
    }
    path = args.json or (common.OUT / "gpu_training-tiny.json" if args.tiny else DEFAULT_JSON)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    common.log(f"wrote {path}")


if __name__ == "__main__":
    main()
