"""KoLeo regulariser (Sablayrolles et al., 2019; used by DINOv2, Oquab et al., 2023)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class KoLeoLoss(nn.Module):
    """Negated Kozachenko-Leonenko entropy: ``-mean_i log(min_{j != i} ||x_i - x_j|| + eps)``.

    Features are L2-normalised first; the loss is large when points crowd together and small
    when they spread over the sphere. Computed within the (local) batch.
    """

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = float(eps)

    def forward(self, features: Tensor) -> Tensor:
        x = F.normalize(features.float(), p=2, dim=-1, eps=self.eps)
        n = x.shape[0]
        if n < 2:
            return x.new_zeros(())
        with torch.no_grad():
            # nearest other point = largest cosine similarity, excluding itself
            sims = x @ x.t()
            sims.fill_diagonal_(-2.0)
            nearest = sims.argmax(dim=1)
        distances = (x - x[nearest]).pow(2).sum(dim=-1).add(self.eps * self.eps).sqrt()
        return -torch.log(distances + self.eps).mean()
