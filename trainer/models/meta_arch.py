"""Student / EMA-teacher pair for DINOv2-style pretraining (Oquab et al., 2023).

The student is any timm ViT (no classifier) with a DINO head on the CLS token and an iBOT head
on the patch tokens (the same module when the iBOT head is shared); the teacher is a copy of it
that is never optimised but follows the student by an exponential moving average. Masked patch
tokens (iBOT) are replaced in the student by a learned mask token on the patch embeddings,
before position embeddings and the blocks, as DINOv2 does. The mask token lives in this module,
not in the backbone, so that the exported teacher backbone stays a plain timm state dict.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import torch
from timm.models import checkpoint_seq
from torch import Tensor, nn

from trainer.models.heads import DINOHead


@dataclass(frozen=True)
class HeadConfig:
    """Sizes of the DINO head and of the iBOT head (the latter used only when separate)."""

    prototypes: int = 65536
    hidden: int = 2048
    bottleneck: int = 256
    layers: int = 3
    ibot_separate_head: bool = False
    ibot_prototypes: int = 65536
    ibot_hidden: int = 2048
    ibot_bottleneck: int = 256
    ibot_layers: int = 3


class Features(NamedTuple):
    """Backbone output: the CLS token (B, D) and the patch tokens (B, N, D), normalised."""

    cls: Tensor
    patch: Tensor


def _create_backbone(
    name: str, img_size: int, drop_path_rate: float, dynamic_img_size: bool = False
) -> nn.Module:
    import timm

    if not timm.is_model(name):
        raise ValueError(f"unknown timm model name {name!r}")
    extra = {"dynamic_img_size": True} if dynamic_img_size else {}
    return timm.create_model(
        name,
        pretrained=False,
        num_classes=0,
        img_size=img_size,
        drop_path_rate=drop_path_rate,
        **extra,
    )


def _load_backbone_weights(backbone: nn.Module, name: str, weights: str, img_size: int) -> None:
    """Load a local timm / DINOv2 checkpoint with curation.embeddings' loader (never a download)."""
    from curation.embeddings import EmbeddingModelSpec, _load_weights

    _load_weights(backbone, EmbeddingModelSpec(name=name, weights=weights, image_size=img_size))


def _disable_drop_path(module: nn.Module) -> None:
    for sub in module.modules():
        if hasattr(sub, "drop_prob") and "DropPath" in type(sub).__name__:
            sub.drop_prob = 0.0


class SSLMetaArch(nn.Module):
    """Student and EMA teacher (``backbone``, ``dino_head``, ``ibot_head`` in each).

    ``weights``: a local .safetensors / .pt / .pth file in timm or DINOv2 layout, loaded into the
    student backbone before the teacher is copied from it; None = random initialisation.
    ``dynamic_img_size``: accept crops of other sizes than ``img_size`` (local crops; position
    embeddings interpolated); the state dict is the same either way.
    """

    def __init__(
        self,
        backbone_name: str,
        *,
        img_size: int = 224,
        drop_path_rate: float = 0.0,
        weights: str | None = None,
        head: HeadConfig | None = None,
        dynamic_img_size: bool = False,
    ):
        super().__init__()
        head = head if head is not None else HeadConfig()
        self.backbone_name = backbone_name
        self.img_size = img_size
        self.head_config = head

        backbone = _create_backbone(backbone_name, img_size, drop_path_rate, dynamic_img_size)
        if weights is not None:
            _load_backbone_weights(backbone, backbone_name, weights, img_size)
        for attr in ("patch_embed", "_pos_embed", "blocks", "norm"):
            if not hasattr(backbone, attr):
                raise ValueError(f"{backbone_name!r} is not a timm ViT (no {attr})")
        self.embed_dim = int(backbone.num_features)
        self.num_prefix_tokens = int(getattr(backbone, "num_prefix_tokens", 1))

        dino_head = DINOHead(
            self.embed_dim, head.prototypes, head.hidden, head.bottleneck, head.layers
        )
        if head.ibot_separate_head:
            ibot_head = DINOHead(
                self.embed_dim,
                head.ibot_prototypes,
                head.ibot_hidden,
                head.ibot_bottleneck,
                head.ibot_layers,
            )
        else:
            ibot_head = dino_head
        self.student = nn.ModuleDict(
            {"backbone": backbone, "dino_head": dino_head, "ibot_head": ibot_head}
        )
        self.mask_token = nn.Parameter(torch.zeros(1, self.embed_dim))

        self.teacher = copy.deepcopy(self.student)  # keeps the shared head shared
        _disable_drop_path(self.teacher)
        for p in self.teacher.parameters():
            p.requires_grad = False

    # -- forward ------------------------------------------------------------------------

    def patch_embeddings(self, images: Tensor, masks: Tensor | None = None) -> Tensor:
        """The student's patch embeddings (B, N, D) (or (B, H, W, D) for dynamic-size
        models), masked positions (``masks``: bool, (B, N)) replaced by the mask token."""
        x = self.student["backbone"].patch_embed(images)
        if masks is not None:
            m = masks.to(torch.bool).reshape(x.shape[:-1]).unsqueeze(-1)
            x = torch.where(m, self.mask_token.to(x.dtype).view(*([1] * (x.ndim - 1)), -1), x)
        return x

    @staticmethod
    def _encode(backbone: nn.Module, x: Tensor) -> Tensor:
        """timm ViT forward_features from the patch embeddings on."""
        x = backbone._pos_embed(x)
        x = backbone.patch_drop(x)
        x = backbone.norm_pre(x)
        if getattr(backbone, "grad_checkpointing", False) and torch.is_grad_enabled():
            x = checkpoint_seq(backbone.blocks, x)
        else:
            x = backbone.blocks(x)
        return backbone.norm(x)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Activation checkpointing of the student's blocks (the teacher runs without grad)."""
        self.student["backbone"].set_grad_checkpointing(enable)

    def compile_blocks(self) -> None:
        """torch.compile each transformer block in place (state-dict keys unchanged, so
        checkpoints and exports stay the same)."""
        for part in (self.student, self.teacher):
            for block in part["backbone"].blocks:
                block.compile()

    def _split(self, tokens: Tensor) -> Features:
        return Features(tokens[:, 0], tokens[:, self.num_prefix_tokens :])

    def forward_features(
        self, images: Tensor, masks: Tensor | None = None, *, teacher: bool = False
    ) -> Features:
        """CLS and patch tokens (register tokens skipped) of the student, or of the teacher
        with ``teacher=True`` (under no_grad; masks are a student-only input)."""
        if teacher:
            if masks is not None:
                raise ValueError("the teacher sees unmasked images; pass masks to the student")
            with torch.no_grad():
                return self._split(self.teacher["backbone"].forward_features(images))
        if masks is None:
            return self._split(self.student["backbone"].forward_features(images))
        x = self.patch_embeddings(images, masks)
        return self._split(self._encode(self.student["backbone"], x))

    # -- teacher --------------------------------------------------------------------------

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        """teacher <- momentum * teacher + (1 - momentum) * student, over backbone and heads."""
        m = float(momentum)
        t = list(self.teacher.parameters())
        s = [p.detach() for p in self.student.parameters()]
        if len(t) != len(s):
            raise RuntimeError("student and teacher parameters differ")
        torch._foreach_mul_(t, m)
        torch._foreach_add_(t, s, alpha=1.0 - m)

    def backbone_state_dict(self) -> dict[str, Tensor]:
        """The teacher backbone's state dict (timm names, contiguous CPU copies) for export."""
        return {
            k: v.detach().to("cpu").contiguous().clone()
            for k, v in self.teacher["backbone"].state_dict().items()
        }
