"""``python -m trainer`` (and ``rudolfv train``): pretrain on a dataset manifest, no web app.

    python -m trainer --manifest manifest.parquet --out runs/a --preset cpu_smoke

Files under ``--out``: ``run.json`` (the resolved recipe, device, world size), ``metrics.jsonl``
(a line per step, ``eval`` lines, and a last ``{"event": "finished"|"stopped"}`` line),
``stain_stats.json``, ``checkpoints/``, and at the end or on a stop request the teacher backbone
``backbone.safetensors`` with its model card ``backbone.json``.

Exit codes: 0 finished, 10 stopped on request (stop file, SIGTERM or SIGINT; a checkpoint and
the backbone are saved first), 2 bad arguments or an unusable manifest. Several GPUs:
``python -m torch.distributed.run --standalone --nproc_per_node=N -m trainer ...``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click

EXIT_FINISHED, EXIT_BAD_INPUT, EXIT_STOPPED = 0, 2, 10
EVAL_VIEWS = 8  # dihedral views per tile when a class has a single labelled tile


class BadInput(click.ClickException):
    exit_code = EXIT_BAD_INPUT


@dataclass
class TrainArgs:
    manifest: Path
    out: Path
    preset: str = "cpu_smoke"
    model: str | None = None
    weights: str | None = None
    sets: dict = field(default_factory=dict)
    steps: int | None = None
    batch_size: int | None = None
    workers: int = 2
    device: str = "auto"
    eval_folder: Path | None = None
    eval_every: int | None = None
    stop_file: Path | None = None
    resume: bool = False
    progress: bool = True
    manifest_checksum: str | None = None


def parse_sets(pairs: tuple[str, ...] | list[str]) -> dict:
    """``KEY=VALUE`` pairs; a VALUE that parses as JSON is taken as such, else as a string."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--set expects KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def build_recipe(args: TrainArgs):
    """The preset with the command line's changes applied (ValueError on a bad one)."""
    from trainer.train.recipe import PRESETS, Recipe

    if args.preset not in PRESETS:
        raise ValueError(f"unknown preset {args.preset!r} (known: {sorted(PRESETS)})")
    data = PRESETS[args.preset]().to_dict()
    changes = dict(args.sets)
    for key, value in (
        ("model", args.model),
        ("weights", args.weights),
        ("total_steps", args.steps),
        ("batch_size", args.batch_size),
        ("eval_every", args.eval_every),
    ):
        if value is not None:
            changes[key] = value
    unknown = sorted(set(changes) - set(data))
    if unknown:
        raise ValueError(f"unknown recipe fields: {unknown}")
    try:
        return Recipe.from_dict({**data, **changes})
    except TypeError as error:
        raise ValueError(f"bad recipe value: {error}") from error


class StopRequest:
    """True once the stop file exists or SIGTERM / SIGINT arrived; under torchrun, true on
    every rank as soon as it is on one (so all ranks stop at the same step)."""

    def __init__(self, stop_file: Path | None) -> None:
        self.stop_file = stop_file
        self.signalled = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        self.signalled = True

    def __call__(self) -> bool:
        import torch
        import torch.distributed as dist

        local = self.signalled or bool(self.stop_file and self.stop_file.exists())
        if dist.is_available() and dist.is_initialized():
            flag = torch.tensor([int(local)], device=_collective_device())
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            return bool(flag.item())
        return local


def _collective_device():
    import torch
    import torch.distributed as dist

    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _setup_distributed(device_name: str):
    """(device, rank, world size); initialises the process group under torchrun."""
    import torch
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if device_name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda, but torch sees no GPU")
    if world > 1:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if use_cuda else "gloo")
        device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
        return device, dist.get_rank(), world
    return torch.device("cuda" if use_cuda else "cpu"), 0, 1


def backbone_embedder(trainer) -> Callable:
    """uint8 (n, h, w, 3) tiles -> teacher CLS features, resized to the global crop size."""
    import torch
    import torch.nn.functional as F

    from trainer.data.augmentations import IMAGENET_MEAN, IMAGENET_STD

    size = trainer.recipe.global_crops_size
    mean = torch.tensor(IMAGENET_MEAN, device=trainer.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=trainer.device).view(1, 3, 1, 1)

    @torch.no_grad()
    def embed(tiles):
        x = torch.from_numpy(tiles).to(trainer.device).permute(0, 3, 1, 2).float() / 255.0
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
        with trainer._autocast():
            return trainer.model.forward_features((x - mean) / std, teacher=True).cls.float()

    return embed


def make_evaluate(folder: Path, seed: int) -> Callable:
    """kNN / linear-probe accuracy of the teacher on a labelled tile folder."""
    from trainer.eval import LabelledTiles, evaluate

    tiles = LabelledTiles.from_folder(folder)
    if len(tiles) == len(tiles.classes):  # one tile per class: a smoke test on dihedral views
        tiles = tiles.augment_views(EVAL_VIEWS, seed=seed)

    def run(trainer) -> dict:
        result = evaluate(backbone_embedder(trainer), tiles, seed=seed, k=min(20, len(tiles) - 1))
        return {
            "knn_accuracy": result["knn_top1"],
            "linear_probe_accuracy": result["linear_top1"],
            **{k: v for k, v in result.items() if k not in ("knn_top1", "linear_top1")},
        }

    return run


def _collate(recipe, patch_size: int, stats):
    from trainer.data import (
        BatchStainTransfer,
        BlockMaskGenerator,
        MultiCropAugmentation,
        MultiCropCollate,
    )
    from trainer.data.device_augment import DeviceCropCollate

    grid = (recipe.global_crops_size // patch_size,) * 2
    masks = BlockMaskGenerator(grid, *recipe.mask_ratio, min_block_patches=1)
    if recipe.augment_on == "device":
        return DeviceCropCollate(
            recipe.multicrop_config(),
            masks,
            recipe.mask_probability,
            recipe.stain_transfer_p,
            stats,
        )
    stain = BatchStainTransfer(recipe.stain_transfer_p) if recipe.reinhard else None
    return MultiCropCollate(
        MultiCropAugmentation(recipe.multicrop_config()),
        masks,
        recipe.mask_probability,
        stain,
        stats,
    )


def _stain_stats(args: TrainArgs, recipe, index, rank: int):
    """Per-slide stain statistics, computed once per run folder (rank 0) and reused."""
    from trainer.data.augmentations import PerSlideStats
    from trainer.data.manifest_source import precompute_stain_stats

    if not recipe.reinhard:
        return None
    path = args.out / "stain_stats.json"
    if rank == 0 and not path.exists():
        from curation.atomic import atomic_write

        bar = _bar(args.progress, len(index.slide_paths), "stain statistics")
        stats = precompute_stain_stats(
            index,
            recipe.stain_tiles_per_slide,
            args.workers,
            progress=lambda done, total: bar.update(1) if bar else None,
        )
        if bar:
            bar.close()
        with atomic_write(path) as tmp:
            tmp.write_text(stats.to_json())
    _barrier()
    return PerSlideStats.load(path)


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _bar(enabled: bool, total: int, desc: str, initial: int = 0):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="step", dynamic_ncols=True)


def run_training(args: TrainArgs) -> int:
    """The whole command; returns the exit code."""

    from curation.atomic import atomic_write
    from trainer.data.manifest_source import (
        ManifestError,
        ManifestIndex,
        StepBatches,
        StepSampler,
        batch_iterator,
    )
    from trainer.train.loop import LATEST, Trainer
    from trainer.train.recipe import Recipe

    args.out.mkdir(parents=True, exist_ok=True)
    latest = args.out / "checkpoints" / LATEST
    resuming = args.resume and latest.exists()
    try:
        device, rank, world = _setup_distributed(args.device)
        if resuming:
            recipe = Recipe.from_dict(json.loads(latest.read_text())["recipe"])
        else:
            recipe = build_recipe(args)
        index = ManifestIndex.read(args.manifest, split="train")
        sampler = StepSampler(index, recipe.batch_size, recipe.seed, recipe.sampling, world)
        evaluate = make_evaluate(args.eval_folder, recipe.seed) if args.eval_folder else None
    except (ValueError, ManifestError, OSError) as error:
        raise BadInput(str(error)) from error

    stop = StopRequest(args.stop_file)
    stats = _stain_stats(args, recipe, index, rank)
    holder: dict = {}

    def data(start_step: int):
        patch = holder["trainer"].model.student["backbone"].patch_embed.patch_size[0]
        dataset = StepBatches(index, sampler, _collate(recipe, patch, stats), recipe.seed, rank)
        return batch_iterator(dataset, start_step, recipe.total_steps, args.workers)

    bar = None

    def on_step(metrics: dict) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{metrics['loss']:.3f}", img_s=f"{metrics['images_per_s']:.0f}")

    trainer = Trainer(
        recipe,
        data,
        args.out,
        device,
        stop_requested=stop,
        evaluate=evaluate,
        manifest_checksum=args.manifest_checksum,
        on_step=on_step,
    )
    holder["trainer"] = trainer
    if resuming:
        trainer.resume()
    elif rank == 0:  # a fresh start: lines of an attempt that died before its first checkpoint
        (args.out / "metrics.jsonl").unlink(missing_ok=True)
    if rank == 0:
        info = {
            "recipe": recipe.to_dict(),
            "total_steps": recipe.total_steps,
            "device": device.type,
            "world_size": world,
            "manifest": str(args.manifest),
            "manifest_checksum": args.manifest_checksum,
            "tiles": len(index),
            "slides": len(index.slide_paths),
            "resumed_from": trainer.step if resuming else None,
        }
        with atomic_write(args.out / "run.json") as tmp:
            tmp.write_text(json.dumps(info, indent=2))
    bar = _bar(args.progress and rank == 0, recipe.total_steps, "training", trainer.step)
    step = trainer.fit()
    if bar is not None:
        bar.close()
    finished = step >= recipe.total_steps
    if finished and evaluate is not None and trainer.evaluated_at != step:
        trainer.run_evaluation()
    trainer.export_backbone(args.out / "backbone.safetensors")
    trainer.log_event("finished" if finished else "stopped")
    _barrier()
    return EXIT_FINISHED if finished else EXIT_STOPPED


_OPTIONS = [
    click.option("--manifest", type=click.Path(path_type=Path), help="A dataset manifest."),
    click.option("--out", required=True, type=click.Path(path_type=Path), help="The run's folder."),
    click.option("--preset", default="cpu_smoke", show_default=True, help="Recipe preset."),
    click.option("--model", help="timm model name (default: the preset's)."),
    click.option("--weights", help="Initial backbone weights: a local timm / DINOv2 file."),
    click.option(
        "--set", "sets", multiple=True, metavar="KEY=VALUE", help="Any recipe field (JSON value)."
    ),
    click.option("--steps", type=click.IntRange(min=1), help="Total steps."),
    click.option("--batch-size", type=click.IntRange(min=1), help="Global batch size."),
    click.option("--workers", default=2, show_default=True, type=click.IntRange(min=0)),
    click.option(
        "--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"])
    ),
    click.option(
        "--eval-folder",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Labelled tiles (a sub-folder or a file-name prefix per class).",
    ),
    click.option("--eval-every", type=click.IntRange(min=0), help="Evaluate every N steps."),
    click.option("--stop-file", type=click.Path(path_type=Path), help="Stop when this exists."),
    click.option("--resume", is_flag=True, help="Continue from the run folder's checkpoint."),
    click.option("--progress/--no-progress", default=True, show_default=True),
    click.option("--manifest-checksum", help="SHA-256 of the manifest, for the model card."),
]


def build_command(
    resolve_dataset: Callable[[str], tuple[Path, str]] | None = None, name: str = "train"
) -> click.Command:
    """The click command; with ``resolve_dataset`` (version id -> manifest path, checksum) it
    also takes ``--dataset VERSION`` (the web app's CLI passes one that reads the database)."""

    def command(manifest, dataset=None, sets=(), **options) -> None:
        if dataset is not None:
            if manifest is not None:
                raise BadInput("give --dataset or --manifest, not both")
            manifest, checksum = resolve_dataset(dataset)
            options["manifest_checksum"] = options["manifest_checksum"] or checksum
        if manifest is None:
            raise BadInput(
                "--manifest is required" + (" (or --dataset)" if resolve_dataset else "")
            )
        args = TrainArgs(manifest=manifest, sets=parse_sets(sets), **options)
        sys.exit(run_training(args))

    for option in reversed(_OPTIONS):
        command = option(command)
    if resolve_dataset is not None:
        command = click.option("--dataset", help="A built dataset version (id).")(command)
    return click.command(name=name, help=_HELP)(command)


_HELP = (
    "Pretrain a ViT with the DINOv2 recipe (DINO + iBOT + KoLeo) on the tiles of a dataset "
    "manifest, with pathology augmentations; metrics in OUT/metrics.jsonl, checkpoints in "
    "OUT/checkpoints, the teacher backbone in OUT/backbone.safetensors. Exit 0 finished, "
    "10 stopped on request, 2 bad input."
)


def main() -> None:
    build_command(name="python -m trainer")()
