"""Training recipes as data: one `Recipe` holds everything a run needs besides its data.

Presets: `cpu_smoke` (a tiny ViT on 32/16 px crops, tiny heads, a few steps: tests and the web
app's smoke run), `vit_s_single_gpu` (ViT-S/14 with registers on one GPU) and `paper_vit_l14`
(the RudolfV paper: ViT-L/14 with registers from DINOv2 weights, batch 960, 625k iterations).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from trainer.data.augmentations import MultiCropConfig
from trainer.models.meta_arch import HeadConfig

CENTERING_MODES = ("centering", "sinkhorn_knopp")


@dataclass
class Recipe:
    name: str = "custom"
    # model
    model: str = "vit_small_patch14_reg4_dinov2"
    weights: str | None = None  # local timm / DINOv2 checkpoint; None = random init
    drop_path_rate: float = 0.1
    # crops
    global_crops_size: int = 224
    global_crops_scale: tuple[float, float] = (0.32, 1.0)
    local_crops_number: int = 8
    local_crops_size: int = 98
    local_crops_scale: tuple[float, float] = (0.05, 0.32)
    # heads
    prototypes: int = 65536
    head_hidden: int = 2048
    head_bottleneck: int = 256
    head_layers: int = 3
    ibot_separate_head: bool = False
    ibot_prototypes: int = 65536
    # optimisation
    batch_size: int = 64
    total_steps: int = 125_000
    steps_per_epoch: int = 1250
    lr: float = 0.004  # peak learning rate, already scaled to the batch size
    min_lr: float = 1e-6
    warmup_epochs: float = 10
    weight_decay: float = 0.04
    weight_decay_end: float = 0.2
    layer_decay: float = 0.9
    patch_embed_lr_mult: float = 0.2
    momentum_teacher: float = 0.992
    final_momentum_teacher: float = 1.0
    teacher_temp: float = 0.07
    warmup_teacher_temp: float = 0.04
    warmup_teacher_temp_epochs: float = 30
    freeze_last_layer_epochs: float = 1
    clip_grad: float = 3.0
    adam_betas: tuple[float, float] = (0.9, 0.999)
    # losses
    dino_loss_weight: float = 1.0
    ibot_loss_weight: float = 1.0
    koleo_loss_weight: float = 0.1
    student_temp: float = 0.1
    center_momentum: float = 0.9
    centering: str = "centering"  # or "sinkhorn_knopp"
    mask_probability: float = 0.5
    mask_ratio: tuple[float, float] = (0.1, 0.5)
    # bookkeeping
    checkpoint_every: int = 1000
    eval_every: int = 0  # 0 = only at the end (when an evaluation is given)
    seed: int = 0
    # augmentation switches
    reinhard: bool = True
    stain_transfer_p: float = 0.5
    rot90_flip: bool = True
    colour_jitter: bool = True
    blur: bool = True
    solarization: bool = False
    # data
    sampling: str = "weighted"  # or "uniform" (see trainer.data.manifest_source)
    stain_tiles_per_slide: int = 4  # tiles per slide for the precomputed stain statistics
    # "device": the workers draw the random choices, the training device makes the crops
    # (trainer.data.device_augment); "workers": DataLoader workers make them (MultiCropCollate)
    augment_on: str = "device"
    # speed / memory
    compile: bool = False  # torch.compile each transformer block
    grad_checkpointing: bool = False  # recompute block activations in backward
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.centering not in CENTERING_MODES:
            raise ValueError(f"centering must be one of {CENTERING_MODES}, got {self.centering!r}")
        if self.augment_on not in ("device", "workers"):
            raise ValueError(f"augment_on must be 'device' or 'workers', got {self.augment_on!r}")
        if self.sampling not in ("weighted", "uniform"):
            raise ValueError(f"sampling must be 'weighted' or 'uniform', got {self.sampling!r}")
        if self.batch_size < 1 or self.total_steps < 1:
            raise ValueError("batch_size and total_steps must be positive")
        if self.global_crops_size < 1 or self.local_crops_size < 1 or self.local_crops_number < 0:
            raise ValueError("bad crop sizes")

    # -- derived configs ------------------------------------------------------------------

    def head_config(self) -> HeadConfig:
        return HeadConfig(
            prototypes=self.prototypes,
            hidden=self.head_hidden,
            bottleneck=self.head_bottleneck,
            layers=self.head_layers,
            ibot_separate_head=self.ibot_separate_head,
            ibot_prototypes=self.ibot_prototypes,
            ibot_hidden=self.head_hidden,
            ibot_bottleneck=self.head_bottleneck,
            ibot_layers=self.head_layers,
        )

    def multicrop_config(self) -> MultiCropConfig:
        return MultiCropConfig(
            global_crops_size=self.global_crops_size,
            global_crops_scale=tuple(self.global_crops_scale),
            local_crops_number=self.local_crops_number,
            local_crops_size=self.local_crops_size,
            local_crops_scale=tuple(self.local_crops_scale),
            colour_jitter_p=0.8 if self.colour_jitter else 0.0,
            grayscale_p=0.2 if self.colour_jitter else 0.0,
            blur_p=(1.0, 0.1, 0.5) if self.blur else (0.0, 0.0, 0.0),
            solarization=self.solarization,
            reinhard=self.reinhard,
            rot90_flip=self.rot90_flip,
        )

    def schedule_kwargs(self) -> dict:
        return {
            "steps_per_epoch": self.steps_per_epoch,
            "base_lr": self.lr,
            "min_lr": self.min_lr,
            "warmup_epochs": self.warmup_epochs,
            "weight_decay": self.weight_decay,
            "weight_decay_end": self.weight_decay_end,
            "momentum_teacher": self.momentum_teacher,
            "final_momentum_teacher": self.final_momentum_teacher,
            "teacher_temp": self.teacher_temp,
            "warmup_teacher_temp": self.warmup_teacher_temp,
            "warmup_teacher_temp_epochs": self.warmup_teacher_temp_epochs,
            "freeze_last_layer_epochs": self.freeze_last_layer_epochs,
        }

    # -- serialisation --------------------------------------------------------------------

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict) -> Recipe:
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(fields)
        if unknown:
            raise ValueError(f"unknown recipe fields: {sorted(unknown)}")
        values = {}
        for key, value in data.items():
            default = fields[key].default
            values[key] = tuple(value) if isinstance(default, tuple) else value
        return cls(**values)

    def replace(self, **changes) -> Recipe:
        return dataclasses.replace(self, **changes)


def cpu_smoke(**changes) -> Recipe:
    """A tiny ViT (vit_tiny_patch16_224 at 32 / 16 px crops), tiny heads, a few steps."""
    recipe = Recipe(
        name="cpu_smoke",
        model="vit_tiny_patch16_224",
        drop_path_rate=0.0,
        global_crops_size=32,
        local_crops_number=2,
        local_crops_size=16,
        prototypes=64,
        head_hidden=64,
        head_bottleneck=32,
        head_layers=2,
        ibot_prototypes=64,
        batch_size=4,
        total_steps=20,
        steps_per_epoch=10,
        lr=5e-4,
        min_lr=1e-5,
        warmup_epochs=0.2,
        momentum_teacher=0.9,
        final_momentum_teacher=0.99,
        warmup_teacher_temp_epochs=0.5,
        freeze_last_layer_epochs=0,
        checkpoint_every=10,
        eval_every=0,
        seed=0,
    )
    return recipe.replace(**changes) if changes else recipe


def vit_s_single_gpu(**changes) -> Recipe:
    """ViT-S/14 with registers on one GPU (DINOv2 recipe, lr scaled to batch 128)."""
    recipe = Recipe(
        name="vit_s_single_gpu",
        model="vit_small_patch14_reg4_dinov2",
        drop_path_rate=0.1,
        global_crops_size=224,
        local_crops_size=98,
        prototypes=65536,
        ibot_prototypes=65536,
        batch_size=128,
        total_steps=125_000,
        steps_per_epoch=1250,
        lr=0.004 * (128 / 1024) ** 0.5,
        checkpoint_every=2500,
        eval_every=12_500,
    )
    return recipe.replace(**changes) if changes else recipe


def paper_vit_l14(weights: str | None = "dinov2_vitl14_reg4_pretrain.pth", **changes) -> Recipe:
    """The RudolfV paper: ViT-L/14 with 4 registers from DINOv2 weights, batch 960 (16 × 60),
    625k iterations, 224 / 98 px crops of 256 px tiles at 0.5 µm/px, pathology augmentations."""
    recipe = Recipe(
        name="paper_vit_l14",
        model="vit_large_patch14_reg4_dinov2",
        weights=weights,
        drop_path_rate=0.4,
        global_crops_size=224,
        local_crops_size=98,
        prototypes=131072,
        ibot_separate_head=True,
        ibot_prototypes=131072,
        head_hidden=2048,
        head_bottleneck=384,
        batch_size=960,
        total_steps=625_000,
        steps_per_epoch=1250,
        lr=0.004 * (960 / 1024) ** 0.5,
        warmup_epochs=80,
        momentum_teacher=0.994,
        checkpoint_every=12_500,
        eval_every=12_500,
    )
    return recipe.replace(**changes) if changes else recipe


PRESETS = {
    "cpu_smoke": cpu_smoke,
    "vit_s_single_gpu": vit_s_single_gpu,
    "paper_vit_l14": paper_vit_l14,
}
