"""Projection heads for DINO / iBOT (Caron et al., 2021; Oquab et al., 2023)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm


class DINOHead(nn.Module):
    """MLP (GELU) -> bottleneck -> L2-normalise -> weight-normalised prototypes (no bias).

    The prototype layer is ``weight_norm(Linear(bottleneck_dim, out_dim, bias=False))``: its
    weight is ``g * v / ||v||`` per prototype (row). As DINO does, the magnitude ``g`` (the
    parametrisation's ``original0``) is filled with 1 and frozen (``requires_grad=False``), so
    every prototype has norm exactly 1 and only its direction ``v`` (``original1``) is learnt.
    Linear weights start from a truncated normal (std 0.02), biases at 0.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int = 65536,
        hidden_dim: int = 2048,
        bottleneck_dim: int = 256,
        n_layers: int = 3,
    ):
        super().__init__()
        n_layers = max(int(n_layers), 1)
        if n_layers == 1:
            layers: list[nn.Module] = [nn.Linear(in_dim, bottleneck_dim)]
        else:
            layers = [nn.Linear(in_dim, hidden_dim), nn.GELU()]
            for _ in range(n_layers - 2):
                layers += [nn.Linear(hidden_dim, hidden_dim), nn.GELU()]
            layers.append(nn.Linear(hidden_dim, bottleneck_dim))
        self.mlp = nn.Sequential(*layers)
        self.mlp.apply(self._init_weights)

        last = nn.Linear(bottleneck_dim, out_dim, bias=False)
        self._init_weights(last)
        self.last_layer = weight_norm(last)  # dim=0: one norm per prototype
        magnitude = self.last_layer.parametrizations.weight.original0
        magnitude.data.fill_(1.0)
        magnitude.requires_grad = False

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.mlp(x)
        eps = 1e-6 if x.dtype == torch.float16 else 1e-12
        x = F.normalize(x, dim=-1, p=2, eps=eps)
        return self.last_layer(x)
