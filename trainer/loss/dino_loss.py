"""DINO loss: cross-entropy between teacher and student CLS-head outputs across crops.

Written from the DINO (Caron et al., 2021) and DINOv2 (Oquab et al., 2023) papers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from trainer.loss._teacher import CenteredTeacherMixin


class DINOLoss(CenteredTeacherMixin):
    """``-sum_k P_t(k) log P_s(k)`` averaged over samples and over (teacher, student) crop pairs.

    Teacher targets come from :meth:`softmax_center_teacher` (centring) or
    :meth:`sinkhorn_knopp_teacher`; call :meth:`update_center` with the raw teacher logits after
    each step when centring. Crops are listed in the same order for teacher and student (the
    teacher sees the global crops only, which are the first student crops); as DINO does, the
    pair of a teacher crop with the student's view of the *same* crop is skipped
    (``ignore_diagonal=False`` keeps it).
    """

    def __init__(self, out_dim: int, student_temp: float = 0.1, center_momentum: float = 0.9):
        super().__init__(out_dim, student_temp=student_temp, center_momentum=center_momentum)

    def forward(
        self,
        student_logits: Sequence[Tensor],
        teacher_probs: Sequence[Tensor],
        ignore_diagonal: bool = True,
    ) -> Tensor:
        """student_logits: one (B, K) tensor per student crop; teacher_probs: one per teacher."""
        if isinstance(student_logits, Tensor):
            student_logits = [student_logits]
        if isinstance(teacher_probs, Tensor):
            teacher_probs = [teacher_probs]
        student_logp = [
            torch.log_softmax(s.float() / self.student_temp, dim=-1) for s in student_logits
        ]
        total = student_logits[0].new_zeros((), dtype=torch.float32)
        n_terms = 0
        for t_idx, target in enumerate(teacher_probs):
            for s_idx, logp in enumerate(student_logp):
                if ignore_diagonal and s_idx == t_idx:
                    continue
                total = total - (target * logp).sum(dim=-1).mean()
                n_terms += 1
        if n_terms == 0:
            raise ValueError("no (teacher, student) crop pair left after skipping same views")
        return total / n_terms
