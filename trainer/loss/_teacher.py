"""Teacher-target helpers shared by the DINO and iBOT losses: centring and Sinkhorn-Knopp.

Written from the DINO (Caron et al., 2021), iBOT (Zhou et al., 2022) and DINOv2 (Oquab et al.,
2023) papers. On one process everything is local; when ``torch.distributed`` is initialised the
batch statistics (centre, Sinkhorn sums) are all-reduced so every rank sees the global batch.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def _all_reduce(tensor: Tensor, op=None) -> Tensor:
    if _distributed():
        dist.all_reduce(tensor, op=op if op is not None else dist.ReduceOp.SUM)
    return tensor


def _world_size() -> int:
    return dist.get_world_size() if _distributed() else 1


class CenteredTeacherMixin(nn.Module):
    """Holds the EMA centre (a (1, K) buffer) and turns teacher logits into target probabilities."""

    center: Tensor

    def __init__(self, out_dim: int, student_temp: float = 0.1, center_momentum: float = 0.9):
        super().__init__()
        self.out_dim = int(out_dim)
        self.student_temp = float(student_temp)
        self.center_momentum = float(center_momentum)
        self.register_buffer("center", torch.zeros(1, self.out_dim))

    @torch.no_grad()
    def softmax_center_teacher(self, teacher_logits: Tensor, teacher_temp: float) -> Tensor:
        """softmax((t - center) / teacher_temp) over the last (prototype) dimension."""
        return torch.softmax((teacher_logits.float() - self.center) / teacher_temp, dim=-1)

    @torch.no_grad()
    def sinkhorn_knopp_teacher(
        self, teacher_logits: Tensor, teacher_temp: float, n_iterations: int = 3
    ) -> Tensor:
        """Sinkhorn-Knopp normalised teacher targets (the DINOv2 option, from SwAV).

        Alternately rescales the (K prototypes x B samples) matrix so that every prototype gets
        the same total mass 1/K and every sample mass 1/B; the final step normalises samples, so
        each returned row sums to 1 and each prototype column gets about B/K of the mass. Any
        leading shape (..., K) is accepted; rows are all leading positions together.
        """
        shape = teacher_logits.shape
        logits = teacher_logits.detach().float().reshape(-1, shape[-1]) / teacher_temp
        # Subtract the global max for numerical stability: one common factor, which the first
        # normalisation removes, so the result equals the plain exp(t / temp) formulation
        # (all-reduced with MAX so every rank uses the same factor).
        peak = logits.max().clone()
        if _distributed():
            dist.all_reduce(peak, op=dist.ReduceOp.MAX)
        q = torch.exp(logits - peak).t()  # (K, B)
        n_samples = q.shape[1] * _world_size()
        n_protos = q.shape[0]
        tiny = torch.finfo(q.dtype).tiny
        q /= _all_reduce(q.sum())
        for _ in range(n_iterations):
            row_sums = _all_reduce(q.sum(dim=1, keepdim=True))  # per prototype, global batch
            q /= row_sums.clamp_min(tiny)  # underflowed entries stay 0, not NaN
            q /= n_protos
            q /= q.sum(dim=0, keepdim=True).clamp_min(tiny)  # per sample (local columns)
            q /= n_samples
        q *= n_samples
        return q.t().reshape(shape)

    @torch.no_grad()
    def update_center(self, teacher_logits: Tensor) -> None:
        """center <- m * center + (1 - m) * mean of the teacher logits over the (global) batch."""
        logits = teacher_logits.detach().float().reshape(-1, self.out_dim)
        batch_sum = _all_reduce(logits.sum(dim=0, keepdim=True))
        batch_mean = batch_sum / (logits.shape[0] * _world_size())
        self.center.mul_(self.center_momentum).add_(batch_mean, alpha=1.0 - self.center_momentum)
