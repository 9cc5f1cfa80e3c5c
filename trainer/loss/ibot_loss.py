"""iBOT masked-patch loss (Zhou et al., 2022), as used in DINOv2 (Oquab et al., 2023)."""

from __future__ import annotations

import torch
from torch import Tensor

from trainer.loss._teacher import CenteredTeacherMixin


class iBOTPatchLoss(CenteredTeacherMixin):  # noqa: N801 - the paper's spelling
    """Cross-entropy between teacher and student patch-head outputs on masked patches only.

    The student sees the masked image, the teacher the unmasked one. Each masked token of image
    ``b`` is weighted by ``1 / n_masked(b)`` (a per-image mean over its masked tokens) and the sum
    is divided by the number of images B, as DINOv2 does: images without any masked token count
    in B and contribute 0. Values at unmasked positions are never read, so changing them cannot
    change the loss. Teacher targets come from :meth:`softmax_center_teacher` or
    :meth:`sinkhorn_knopp_teacher` (and :meth:`update_center`), as for :class:`DINOLoss`.
    """

    def __init__(self, patch_out_dim: int, student_temp: float = 0.1, center_momentum: float = 0.9):
        super().__init__(patch_out_dim, student_temp=student_temp, center_momentum=center_momentum)

    def forward(self, student_patch_logits: Tensor, teacher_patch_probs: Tensor, masks: Tensor):
        """student_patch_logits, teacher_patch_probs: (B, N, K); masks: bool (B, N)."""
        masks = masks.bool()
        if masks.shape != student_patch_logits.shape[:2]:
            raise ValueError(f"masks {tuple(masks.shape)} do not match the (B, N) of the logits")
        student = student_patch_logits[masks]  # (M, K): masked tokens only
        teacher = teacher_patch_probs[masks]
        return self.forward_masked(student, teacher, masks)

    def forward_masked(self, student_masked: Tensor, teacher_masked: Tensor, masks: Tensor):
        """The loss from already gathered masked tokens (M, K), in ``masks[masks]`` order."""
        masks = masks.bool()
        n_images = masks.shape[0]
        per_token = (
            teacher_masked * torch.log_softmax(student_masked.float() / self.student_temp, dim=-1)
        ).sum(dim=-1)
        counts = masks.sum(dim=-1).clamp(min=1).to(per_token.dtype)  # (B,)
        weights = (1.0 / counts).unsqueeze(-1).expand_as(masks)[masks]  # (M,)
        return -(per_token * weights).sum() / n_images
