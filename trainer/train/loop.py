"""The DINOv2 training loop: student / EMA teacher, DINO + iBOT + KoLeo, checkpoints, resume.

``data_iter_factory(start_step)`` gives an iterator of batches (`MultiCropCollate` dicts) for
steps ``start_step, start_step + 1, ...``; when each batch is a pure function of (seed, step)
(`trainer.data.collate.seeded_batches`), `Trainer.resume` continues a run with exactly the
losses of an uninterrupted one (on CPU, fixed seed): model, optimiser, centres, step and the
torch / numpy / python RNG states are all in the checkpoint.

Files under ``out_dir``: ``metrics.jsonl`` (one JSON line per step), ``checkpoints/step-<n>``
``.safetensors`` (student, teacher, mask token, centres) and ``.pt`` (optimiser, step, RNG
states, data position), ``checkpoints/latest.json``; all written atomically.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

from curation.atomic import atomic_write
from trainer.data.device_augment import augment_batch
from trainer.loss import DINOLoss, KoLeoLoss, iBOTPatchLoss
from trainer.models.meta_arch import SSLMetaArch
from trainer.train.recipe import Recipe
from trainer.train.schedules import Schedules, param_groups

METRIC_KEYS = (
    "step",
    "loss",
    "dino",
    "ibot",
    "koleo",
    "lr",
    "wd",
    "momentum",
    "teacher_temp",
    "images_per_s",
    "gpu_mem_mb",
    "total_steps",
    "eta_s",
    "time",
)
LATEST = "latest.json"


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _rng_states() -> dict:
    states = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _world() -> tuple[int, int]:
    """(rank, world size) of a torchrun process group, or (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Trainer:
    """One training run; see the module docstring.

    ``stop_requested``: a no-argument callable checked before each step; when it returns true
    the run checkpoints and `fit` returns. ``evaluate``: optional ``(trainer) -> dict`` called
    every ``recipe.eval_every`` steps (and at the end), its result logged as an ``eval`` line.

    Under torchrun (a process group initialised before), gradients are averaged over the
    ranks after each backward, every rank holds the whole model (no FSDP) and only rank 0
    writes metrics and checkpoints; each rank's batch is its share of the global batch.
    """

    def __init__(
        self,
        recipe: Recipe,
        data_iter_factory: Callable[[int], Iterator[dict]],
        out_dir: str | Path,
        device: str | torch.device | None = None,
        *,
        stop_requested: Callable[[], bool] | None = None,
        evaluate: Callable[[Trainer], dict] | None = None,
        manifest_checksum: str | None = None,
        on_step: Callable[[dict], None] | None = None,
    ) -> None:
        self.recipe = recipe
        self.data_iter_factory = data_iter_factory
        self.out_dir = Path(out_dir)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.stop_requested = stop_requested or (lambda: False)
        self.evaluate = evaluate
        self.manifest_checksum = manifest_checksum
        self.on_step = on_step
        self.step = 0
        self.last_metrics: dict | None = None
        self.evaluated_at: int | None = None
        self.rank, self.world_size = _world()
        self._step_walls: deque[float] = deque(maxlen=50)  # wall seconds of recent steps
        self._last_step_end: float | None = None

        _seed_everything(recipe.seed)
        self.model = SSLMetaArch(
            recipe.model,
            img_size=recipe.global_crops_size,
            drop_path_rate=recipe.drop_path_rate,
            weights=recipe.weights,
            head=recipe.head_config(),
            dynamic_img_size=True,
        ).to(self.device)
        if recipe.grad_checkpointing:
            self.model.set_grad_checkpointing(True)
        if recipe.compile:
            self.model.compile_blocks()
        ibot_dim = recipe.ibot_prototypes if recipe.ibot_separate_head else recipe.prototypes
        self.dino_loss = DINOLoss(recipe.prototypes, recipe.student_temp, recipe.center_momentum)
        self.ibot_loss = iBOTPatchLoss(ibot_dim, recipe.student_temp, recipe.center_momentum)
        self.dino_loss.to(self.device)
        self.ibot_loss.to(self.device)
        self.koleo_loss = KoLeoLoss()
        self.crop_config = recipe.multicrop_config()
        self.schedules = Schedules.from_recipe(recipe.total_steps, **recipe.schedule_kwargs())
        groups = param_groups(
            self.model, recipe.lr, recipe.weight_decay, recipe.layer_decay,
            recipe.patch_embed_lr_mult,
        )  # fmt: skip
        self.params = [p for g in groups for p in g["params"]]
        self.optimizer = torch.optim.AdamW(groups, lr=recipe.lr, betas=tuple(recipe.adam_betas))

    # -- one step -------------------------------------------------------------------------

    def _autocast(self):
        return torch.autocast(
            device_type=self.device.type,
            dtype=torch.bfloat16,
            enabled=self.device.type == "cuda",
        )

    def _teacher_targets(self, t_cls: torch.Tensor, t_patch: torch.Tensor, temp: float):
        if self.recipe.centering == "sinkhorn_knopp":
            return (
                self.dino_loss.sinkhorn_knopp_teacher(t_cls, temp),
                self.ibot_loss.sinkhorn_knopp_teacher(t_patch, temp),
            )
        return (
            self.dino_loss.softmax_center_teacher(t_cls, temp),
            self.ibot_loss.softmax_center_teacher(t_patch, temp),
        )

    def compute_losses(self, batch: dict, teacher_temp: float) -> dict:
        """The weighted losses of one batch (a graph for backward) and the raw teacher logits."""
        recipe, model = self.recipe, self.model
        if "tiles" in batch:  # drawn by the workers, cropped and augmented here
            batch = augment_batch(batch, self.crop_config, self.device)
        global_crops = batch["global"].to(self.device, non_blocking=True)
        local_crops = batch["local"].to(self.device, non_blocking=True)
        masks = batch["masks"].to(self.device).bool()
        n_global = 2
        with self._autocast():
            with torch.no_grad():
                teacher = model.forward_features(global_crops, teacher=True)
                t_cls = model.teacher["dino_head"](teacher.cls)
                t_patch = model.teacher["ibot_head"](teacher.patch[masks])
            t_cls_probs, t_patch_probs = self._teacher_targets(t_cls, t_patch, teacher_temp)

            student = model.forward_features(global_crops, masks)
            s_cls = model.student["dino_head"](student.cls)
            student_crops = list(s_cls.chunk(n_global))
            if local_crops.shape[0]:
                local = model.forward_features(local_crops)
                s_local = model.student["dino_head"](local.cls)
                student_crops += list(s_local.chunk(recipe.local_crops_number))
            s_patch = model.student["ibot_head"](student.patch[masks])

        dino = self.dino_loss(student_crops, list(t_cls_probs.chunk(n_global)))
        if masks.any():
            ibot = self.ibot_loss.forward_masked(s_patch, t_patch_probs, masks)
        else:
            ibot = s_patch.new_zeros((), dtype=torch.float32)
        koleo = sum(self.koleo_loss(c) for c in student.cls.chunk(n_global))
        loss = (
            recipe.dino_loss_weight * dino
            + recipe.ibot_loss_weight * ibot
            + recipe.koleo_loss_weight * koleo
        )
        return {
            "loss": loss,
            "dino": dino,
            "ibot": ibot,
            "koleo": koleo,
            "teacher_cls": t_cls,
            "teacher_patch": t_patch,
        }

    @torch.no_grad()
    def loss_on(self, batch: dict) -> dict[str, float]:
        """The losses of ``batch`` at the current step, without changing anything (centres
        included)."""
        temp = self.schedules.at(self.step)["teacher_temp"]
        out = self.compute_losses(batch, temp)
        return {k: float(out[k]) for k in ("loss", "dino", "ibot", "koleo")}

    def train_step(self, batch: dict) -> dict:
        """One optimisation step on ``batch``; returns (and logs) its metrics."""
        start = time.perf_counter()
        sched = self.schedules.at(self.step)
        for group in self.optimizer.param_groups:
            lr = sched["last_layer_lr"] if group["is_last_layer"] else sched["lr"]
            group["lr"] = lr * group["lr_multiplier"]
            group["weight_decay"] = sched["weight_decay"] * group["wd_multiplier"]

        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        out = self.compute_losses(batch, sched["teacher_temp"])
        out["loss"].backward()
        if self.world_size > 1:
            self._average_gradients()
        if self.recipe.clip_grad and self.recipe.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.recipe.clip_grad)
        self.optimizer.step()
        self.model.update_teacher(sched["momentum"])
        if self.recipe.centering == "centering":
            self.dino_loss.update_center(out["teacher_cls"])
            self.ibot_loss.update_center(out["teacher_patch"])
        self.step += 1

        now = time.perf_counter()
        # throughput over the wall time since the previous step (data loading included);
        # the first step of a fit has only its own compute time
        wall = now - (self._last_step_end if self._last_step_end is not None else start)
        self._last_step_end = now
        elapsed = max(wall, 1e-9)
        self._step_walls.append(elapsed)
        eta = (self.recipe.total_steps - self.step - 1) * float(np.mean(self._step_walls))
        gpu_mem = None
        if self.device.type == "cuda":
            gpu_mem = torch.cuda.max_memory_allocated(self.device) / 2**20
        n_images = len(batch["slide_ids"]) * self.world_size
        metrics = {
            "step": self.step,
            "loss": float(out["loss"].detach()),
            "dino": float(out["dino"].detach()),
            "ibot": float(out["ibot"].detach()),
            "koleo": float(out["koleo"].detach()),
            "lr": sched["lr"],
            "wd": sched["weight_decay"],
            "momentum": sched["momentum"],
            "teacher_temp": sched["teacher_temp"],
            "images_per_s": n_images / elapsed,
            "gpu_mem_mb": gpu_mem,
            "total_steps": self.recipe.total_steps,
            "eta_s": max(eta, 0.0),
            "time": time.time(),
        }
        if not math.isfinite(metrics["loss"]):
            raise FloatingPointError(f"loss is {metrics['loss']} at step {self.step}")
        self.last_metrics = metrics
        self._append_metrics(metrics)
        if self.on_step is not None:
            self.on_step(metrics)
        return metrics

    # -- the run --------------------------------------------------------------------------

    def fit(self, steps: int | None = None) -> int:
        """Train until ``recipe.total_steps`` (or ``steps`` more steps, or a stop request);
        checkpoints every ``recipe.checkpoint_every`` steps and at the end / stop. Returns the
        step reached."""
        end = self.recipe.total_steps if steps is None else self.step + int(steps)
        end = min(end, self.recipe.total_steps)
        batches = self.data_iter_factory(self.step)
        self._last_step_end = None
        saved_at = None
        every = self.recipe.checkpoint_every
        while self.step < end:
            if self.stop_requested():
                break
            self.train_step(next(batches))
            if every and self.step % every == 0:
                self.save_checkpoint()
                saved_at = self.step
            if (
                self.evaluate is not None
                and self.recipe.eval_every
                and self.step % self.recipe.eval_every == 0
            ):
                self.run_evaluation()
        if saved_at != self.step:
            self.save_checkpoint()
        return self.step

    def _average_gradients(self) -> None:
        """All-reduce the gradients as one flat buffer (what DDP does, without its bucketing
        and overlap: simple, and the same numbers). Every rank sends every trainable
        parameter, zeros where it has no gradient (a rank whose crops drew no iBOT mask has
        none for a separate iBOT head), so the buffers always line up."""
        for p in self.params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in self.params])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for p in self.params:
            p.grad.copy_(flat[offset : offset + p.numel()].view_as(p))
            offset += p.numel()

    def run_evaluation(self) -> dict:
        """Evaluate now and log an ``eval`` line; remembers the step (`evaluated_at`)."""
        result = self.evaluate(self)
        self.evaluated_at = self.step
        self._append_metrics({"step": self.step, "eval": result})
        return result

    def log_event(self, event: str) -> None:
        """A ``{"event": ..., "step": ...}`` line (finished, stopped) for whoever tails the log."""
        self._append_metrics({"event": event, "step": self.step})

    def _append_metrics(self, metrics: dict) -> None:
        if self.rank != 0:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with (self.out_dir / "metrics.jsonl").open("a") as handle:
            handle.write(json.dumps(metrics) + "\n")

    # -- checkpoints ----------------------------------------------------------------------

    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / "checkpoints"

    def _model_tensors(self) -> dict[str, torch.Tensor]:
        # clones: safetensors refuses shared storage (a shared DINO / iBOT head)
        tensors = {
            f"model.{k}": v.detach().cpu().contiguous().clone()
            for k, v in self.model.state_dict().items()
        }
        tensors["dino_loss.center"] = self.dino_loss.center.detach().cpu().clone()
        tensors["ibot_loss.center"] = self.ibot_loss.center.detach().cpu().clone()
        return tensors

    def save_checkpoint(self) -> Path:
        """step-<n>.safetensors + step-<n>.pt, then latest.json; each written atomically
        (rank 0 only)."""
        if self.rank != 0:
            return self.checkpoint_dir / f"step-{self.step}.safetensors"
        stem = f"step-{self.step}"
        weights = self.checkpoint_dir / f"{stem}.safetensors"
        state = self.checkpoint_dir / f"{stem}.pt"
        with atomic_write(weights) as tmp:
            save_file(self._model_tensors(), str(tmp), metadata={"step": str(self.step)})
        with atomic_write(state) as tmp:
            torch.save(
                {
                    "step": self.step,
                    "optimizer": self.optimizer.state_dict(),
                    "rng": _rng_states(),
                    "data_position": {"seed": self.recipe.seed, "next_step": self.step},
                    "recipe": self.recipe.to_dict(),
                    "last_metrics": self.last_metrics,
                },
                tmp,
            )
        latest = {
            "step": self.step,
            "weights": weights.name,
            "state": state.name,
            "recipe": self.recipe.to_dict(),
        }
        with atomic_write(self.checkpoint_dir / LATEST) as tmp:
            tmp.write_text(json.dumps(latest, indent=2))
        return weights

    def resume(self, out_dir: str | Path | None = None) -> int:
        """Restore the latest checkpoint of ``out_dir`` (default: this run's): model, centres,
        optimiser, step, RNG states; metrics lines past the checkpoint are dropped. Returns the
        step to continue from."""
        out_dir = Path(out_dir) if out_dir is not None else self.out_dir
        folder = out_dir / "checkpoints"
        latest = json.loads((folder / LATEST).read_text())
        tensors = load_file(str(folder / latest["weights"]))
        model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        self.model.load_state_dict(model_state, strict=True)
        with torch.no_grad():
            self.dino_loss.center.copy_(tensors["dino_loss.center"])
            self.ibot_loss.center.copy_(tensors["ibot_loss.center"])
        state = torch.load(folder / latest["state"], map_location=self.device, weights_only=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.last_metrics = state.get("last_metrics")
        _set_rng_states(state["rng"])
        self._truncate_metrics(self.step)
        return self.step

    @classmethod
    def from_checkpoint(
        cls,
        out_dir: str | Path,
        data_iter_factory: Callable[[int], Iterator[dict]],
        device: str | torch.device | None = None,
        **kwargs,
    ) -> Trainer:
        """A trainer rebuilt from the recipe of ``out_dir``'s latest checkpoint, resumed."""
        latest = json.loads((Path(out_dir) / "checkpoints" / LATEST).read_text())
        trainer = cls(
            Recipe.from_dict(latest["recipe"]), data_iter_factory, out_dir, device, **kwargs
        )
        trainer.resume()
        return trainer

    def _truncate_metrics(self, step: int) -> None:
        path = self.out_dir / "metrics.jsonl"
        if self.rank != 0 or not path.exists():
            return
        kept = [
            line
            for line in path.read_text().splitlines()
            if line.strip()
            and "event" not in (entry := json.loads(line))
            and entry.get("step", 0) <= step
        ]
        with atomic_write(path) as tmp:
            tmp.write_text("".join(line + "\n" for line in kept))

    # -- export ---------------------------------------------------------------------------

    def export_backbone(self, path: str | Path, manifest_checksum: str | None = None) -> Path:
        """The teacher backbone as a timm state dict (safetensors) at ``path`` and a model card
        (``<path stem>.json``): load with ``timm.create_model(card["model"], pretrained=False,
        num_classes=0, img_size=card["img_size"])`` and ``load_state_dict(..., strict=True)``."""
        path = Path(path)
        if self.rank != 0:
            return path
        with atomic_write(path) as tmp:
            save_file(self.model.backbone_state_dict(), str(tmp), metadata={"format": "pt"})
        card = {
            "format": "timm",
            "model": self.recipe.model,
            "img_size": self.recipe.global_crops_size,
            "embed_dim": self.model.embed_dim,
            "timm_kwargs": {
                "pretrained": False,
                "num_classes": 0,
                "img_size": self.recipe.global_crops_size,
            },
            "weights": path.name,
            "step": self.step,
            "recipe": self.recipe.to_dict(),
            "dataset": {"manifest_sha256": manifest_checksum or self.manifest_checksum},
            "metrics": self.last_metrics,
        }
        with atomic_write(path.with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps(card, indent=2))
        return path
