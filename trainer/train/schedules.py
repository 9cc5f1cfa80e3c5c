"""Per-step schedules and AdamW parameter groups of the DINOv2 recipe.

`cosine_schedule` follows dinov2's ``CosineScheduler``: ``freeze_steps`` zeros, a linear warm-up
from ``start_warmup`` to ``base`` over ``warmup_steps`` (``np.linspace``, both ends included),
then ``final + (base - final) / 2 * (1 + cos(pi * i / n))`` for ``i = 0..n-1``. A `Schedules`
value past the end is the final value. `param_groups` gives layer-wise learning-rate decay
(embeddings layer 0, block i layer i + 1, the final norm and the heads layer n_blocks + 1) and no
weight decay for biases, norms, LayerScale gammas and the cls / register / position / mask tokens.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from torch import nn


def cosine_schedule(
    base: float,
    final: float,
    total_steps: int,
    warmup_steps: int = 0,
    start_warmup: float = 0.0,
    freeze_steps: int = 0,
) -> np.ndarray:
    """One value per step (float64, length ``total_steps``); see the module docstring."""
    total_steps, warmup_steps, freeze_steps = int(total_steps), int(warmup_steps), int(freeze_steps)
    if total_steps < 0 or warmup_steps < 0 or freeze_steps < 0:
        raise ValueError("step counts must be non-negative")
    if warmup_steps + freeze_steps > total_steps:
        raise ValueError(
            f"warm-up ({warmup_steps}) + freeze ({freeze_steps}) steps exceed total_steps "
            f"({total_steps})"
        )
    freeze = np.zeros(freeze_steps)
    warmup = np.linspace(start_warmup, base, warmup_steps)
    n = total_steps - warmup_steps - freeze_steps
    i = np.arange(n)
    cosine = final + 0.5 * (base - final) * (1 + np.cos(np.pi * i / max(n, 1)))
    out = np.concatenate((freeze, warmup, cosine)).astype(np.float64)
    assert len(out) == total_steps
    return out


def _value(schedule: np.ndarray, step: int, final: float) -> float:
    return float(schedule[step]) if 0 <= step < len(schedule) else float(final)


@dataclass(frozen=True)
class Schedules:
    """Arrays of one value per step; `at(step)` reads them (past the end: final values)."""

    lr: np.ndarray
    last_layer_lr: np.ndarray
    weight_decay: np.ndarray
    momentum: np.ndarray
    teacher_temp: np.ndarray
    freeze_last_layer_steps: int
    final: dict

    @property
    def total_steps(self) -> int:
        return len(self.lr)

    @classmethod
    def from_recipe(
        cls,
        total_steps: int,
        *,
        steps_per_epoch: int = 1250,
        base_lr: float = 0.004,
        min_lr: float = 1e-6,
        warmup_epochs: float = 10,
        weight_decay: float = 0.04,
        weight_decay_end: float = 0.2,
        momentum_teacher: float = 0.992,
        final_momentum_teacher: float = 1.0,
        teacher_temp: float = 0.07,
        warmup_teacher_temp: float = 0.04,
        warmup_teacher_temp_epochs: float = 30,
        freeze_last_layer_epochs: float = 1,
    ) -> Schedules:
        """The DINOv2 schedules; warm-ups given in epochs of ``steps_per_epoch`` steps
        (clipped to ``total_steps``). ``base_lr`` is the peak learning rate, already scaled."""
        total = int(total_steps)
        if total <= 0 or int(steps_per_epoch) <= 0:
            raise ValueError("total_steps and steps_per_epoch must be positive")

        def steps(epochs: float) -> int:
            return min(max(int(round(epochs * steps_per_epoch)), 0), total)

        warmup = steps(warmup_epochs)
        freeze = steps(freeze_last_layer_epochs)
        lr = cosine_schedule(base_lr, min_lr, total, warmup, 0.0)
        last_layer_lr = lr.copy()
        last_layer_lr[:freeze] = 0.0
        wd = cosine_schedule(weight_decay, weight_decay_end, total)
        momentum = cosine_schedule(momentum_teacher, final_momentum_teacher, total)
        temp = cosine_schedule(
            teacher_temp,
            teacher_temp,
            total,
            steps(warmup_teacher_temp_epochs),
            warmup_teacher_temp,
        )
        final = {
            "lr": min_lr,
            "last_layer_lr": min_lr,
            "weight_decay": weight_decay_end,
            "momentum": final_momentum_teacher,
            "teacher_temp": teacher_temp,
        }
        return cls(lr, last_layer_lr, wd, momentum, temp, freeze, final)

    def at(self, step: int) -> dict[str, float]:
        return {
            "lr": _value(self.lr, step, self.final["lr"]),
            "last_layer_lr": _value(self.last_layer_lr, step, self.final["last_layer_lr"]),
            "weight_decay": _value(self.weight_decay, step, self.final["weight_decay"]),
            "momentum": _value(self.momentum, step, self.final["momentum"]),
            "teacher_temp": _value(self.teacher_temp, step, self.final["teacher_temp"]),
        }


# -- parameter groups ------------------------------------------------------------------------

_EMBEDDING_NAMES = ("patch_embed", "cls_token", "reg_token", "pos_embed", "mask_token")
_NO_DECAY_TOKENS = ("cls_token", "reg_token", "pos_embed", "mask_token", "register_tokens")
_BLOCK = re.compile(r"(?:^|\.)blocks\.(\d+)\.")


def _num_blocks(model: nn.Module) -> int:
    ids = {int(m.group(1)) for n, _ in model.named_parameters() if (m := _BLOCK.search(n))}
    return max(ids) + 1 if ids else 0


def _layer_id(name: str, n_blocks: int) -> int:
    match = _BLOCK.search(name)
    if match:
        return int(match.group(1)) + 1
    if any(part in name for part in _EMBEDDING_NAMES):
        return 0
    return n_blocks + 1


_NORM = re.compile(r"(?:^|\.)norm[^.]*\.")


def _no_decay(name: str, param: nn.Parameter) -> bool:
    """Biases, norms and LayerScale gammas (all 1-D) and the tokens / position embeddings."""
    return (
        param.ndim <= 1
        or name.endswith(".bias")
        or bool(_NORM.search(name))
        or any(t in name for t in _NO_DECAY_TOKENS)
    )


def param_groups(
    model: nn.Module,
    base_lr: float,
    weight_decay: float,
    layer_decay: float = 0.9,
    patch_embed_lr_mult: float = 0.2,
) -> list[dict]:
    """AdamW groups over the trainable parameters of ``model`` (an `SSLMetaArch`, a timm ViT,
    ...). Each group has ``params``, ``lr`` (= base_lr * lr_multiplier), ``weight_decay`` (=
    weight_decay * wd_multiplier), ``lr_multiplier`` (layer_decay ** (n_blocks + 1 - layer),
    times patch_embed_lr_mult for the patch embedding), ``wd_multiplier`` (0 or 1),
    ``layer_id`` and ``is_last_layer`` (the heads' prototype layers, whose lr the loop zeroes
    while they are frozen). Frozen parameters (requires_grad False) are left out."""
    n_blocks = _num_blocks(model)
    groups: dict[tuple, dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        layer = _layer_id(name, n_blocks)
        lr_mult = layer_decay ** (n_blocks + 1 - layer)
        if "patch_embed" in name:
            lr_mult *= patch_embed_lr_mult
        wd_mult = 0.0 if _no_decay(name, param) else 1.0
        last = "last_layer" in name
        key = (layer, lr_mult, wd_mult, last)
        if key not in groups:
            groups[key] = {
                "params": [],
                "names": [],
                "layer_id": layer,
                "lr_multiplier": lr_mult,
                "wd_multiplier": wd_mult,
                "is_last_layer": last,
                "lr": base_lr * lr_mult,
                "weight_decay": weight_decay * wd_mult,
            }
        groups[key]["params"].append(param)
        groups[key]["names"].append(name)
    out = sorted(groups.values(), key=lambda g: (g["layer_id"], g["lr_multiplier"]))
    assert all(math.isfinite(g["lr"]) for g in out)
    return out
