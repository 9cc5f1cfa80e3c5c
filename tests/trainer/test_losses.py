"""Known properties of the DINO, iBOT and KoLeo losses and of the DINO head."""

import math

import pytest
import torch

from trainer.loss import DINOLoss, KoLeoLoss, iBOTPatchLoss
from trainer.models import DINOHead


def _entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * p.log()).sum(-1).mean()


def test_dino_identical_outputs_give_teacher_entropy_and_are_minimal():
    torch.manual_seed(0)
    loss_fn = DINOLoss(out_dim=16, student_temp=0.1)
    logits = torch.randn(8, 16)
    probs = loss_fn.softmax_center_teacher(logits, teacher_temp=0.1)  # centre is zero
    # two views with identical outputs: the cross-view pair is skipped for same views only
    views = [logits, logits.clone()]
    loss = loss_fn(views, [probs, probs])
    assert torch.allclose(loss, _entropy(probs), atol=1e-5)
    assert torch.allclose(loss_fn([logits], [probs], ignore_diagonal=False), _entropy(probs))
    for scale in (0.05, 0.5):
        noisy = logits + scale * torch.randn_like(logits)
        assert loss_fn([noisy, noisy], [probs, probs]) > loss


def test_dino_skips_same_view_pairs():
    torch.manual_seed(1)
    loss_fn = DINOLoss(out_dim=8)
    s = [torch.randn(4, 8) for _ in range(3)]  # 2 global + 1 local student crops
    t = [torch.softmax(torch.randn(4, 8), -1) for _ in range(2)]

    def ce(p, x):
        return -(p * torch.log_softmax(x / 0.1, -1)).sum(-1).mean()

    expected = (ce(t[0], s[1]) + ce(t[0], s[2]) + ce(t[1], s[0]) + ce(t[1], s[2])) / 4
    assert torch.allclose(loss_fn(s, t), expected, atol=1e-6)


def test_centre_moves_towards_batch_mean_with_momentum():
    loss_fn = DINOLoss(out_dim=4, center_momentum=0.9)
    batch = torch.tensor([[1.0, 2.0, 3.0, 4.0], [3.0, 2.0, 1.0, 0.0]])
    loss_fn.update_center(batch)
    assert torch.allclose(loss_fn.center, 0.1 * batch.mean(0, keepdim=True))
    loss_fn.update_center(batch)
    assert torch.allclose(loss_fn.center, 0.19 * batch.mean(0, keepdim=True))
    # centring subtracts the centre before the softmax
    probs = loss_fn.softmax_center_teacher(batch, teacher_temp=0.5)
    assert torch.allclose(probs, torch.softmax((batch - loss_fn.center) / 0.5, -1))


def test_sinkhorn_rows_sum_to_one_and_prototypes_balanced():
    torch.manual_seed(2)
    loss_fn = DINOLoss(out_dim=8)
    logits = torch.randn(64, 8) + torch.linspace(0, 2, 8)  # unbalanced prototypes
    q = loss_fn.sinkhorn_knopp_teacher(logits, teacher_temp=1.0, n_iterations=3)
    assert q.shape == logits.shape and (q >= 0).all()
    assert torch.allclose(q.sum(1), torch.ones(64), atol=1e-5)
    cols = q.sum(0)
    plain = torch.softmax(logits, -1).sum(0)
    assert (cols - 64 / 8).abs().max() < 0.1 * 64 / 8  # each prototype gets about B/K
    assert (cols - 8).abs().max() < 0.2 * (plain - 8).abs().max()
    q_many = loss_fn.sinkhorn_knopp_teacher(logits, teacher_temp=1.0, n_iterations=50)
    assert torch.allclose(q_many.sum(0), torch.full((8,), 8.0), atol=1e-3)
    # no overflow / underflow NaN at a very low temperature on cosine-range logits
    cold = loss_fn.sinkhorn_knopp_teacher(torch.tanh(logits), teacher_temp=0.005)
    assert torch.isfinite(cold).all()


def test_ibot_only_masked_tokens_count():
    torch.manual_seed(3)
    loss_fn = iBOTPatchLoss(patch_out_dim=10)
    s = torch.randn(3, 6, 10)
    t = torch.softmax(torch.randn(3, 6, 10), -1)
    masks = torch.zeros(3, 6, dtype=torch.bool)
    masks[0, :2] = True
    masks[1, 1:5] = True  # image 2 has no masked token
    base = loss_fn(s, t, masks)
    s2, t2 = s.clone(), t.clone()
    s2[~masks] = torch.randn_like(s2[~masks]) * 100
    t2[~masks] = float("nan")
    assert torch.equal(loss_fn(s2, t2, masks), base)
    s3 = s.clone()
    s3[1, 2] += 5 * torch.randn(10)
    assert not torch.equal(loss_fn(s3, t, masks), base)


def test_ibot_weights_images_by_masked_count():
    torch.manual_seed(4)
    loss_fn = iBOTPatchLoss(patch_out_dim=5)
    s = torch.randn(3, 6, 5)
    t = torch.softmax(torch.randn(3, 6, 5), -1)
    masks = torch.zeros(3, 6, dtype=torch.bool)
    masks[0, :1] = True
    masks[1, :5] = True
    ce = -(t * torch.log_softmax(s / 0.1, -1)).sum(-1)  # (B, N)
    per_image = [ce[b][masks[b]].mean() for b in range(2)]
    expected = (per_image[0] + per_image[1] + 0.0) / 3  # 1 / n_masked per token, mean over B
    assert torch.allclose(loss_fn(s, t, masks), expected, atol=1e-6)
    gathered = loss_fn.forward_masked(s[masks], t[masks], masks)
    assert torch.allclose(gathered, expected, atol=1e-6)


def test_ibot_centring_and_sinkhorn_on_patch_tokens():
    loss_fn = iBOTPatchLoss(patch_out_dim=6, center_momentum=0.5)
    tokens = torch.randn(2, 4, 6)
    loss_fn.update_center(tokens)
    assert torch.allclose(loss_fn.center, 0.5 * tokens.reshape(-1, 6).mean(0, keepdim=True))
    q = loss_fn.sinkhorn_knopp_teacher(tokens, teacher_temp=0.1)
    assert q.shape == tokens.shape
    assert torch.allclose(q.sum(-1), torch.ones(2, 4), atol=1e-5)


def test_koleo_larger_for_collapsed_points():
    torch.manual_seed(5)
    koleo = KoLeoLoss()
    spread = torch.eye(8)  # orthonormal: every nearest neighbour at distance sqrt(2)
    assert torch.allclose(koleo(spread), torch.tensor(-math.log(math.sqrt(2))), atol=1e-5)
    collapsed = torch.ones(8, 8) + 1e-3 * torch.randn(8, 8)
    assert koleo(collapsed) > koleo(spread) + 3
    assert koleo(torch.randn(32, 16)) < koleo(collapsed)
    x = torch.ones(4, 3, requires_grad=True)  # exactly collapsed: finite loss and gradient
    value = koleo(x)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("n_layers", [1, 3])
def test_dino_head_shape_unit_prototypes_and_gradients(n_layers):
    torch.manual_seed(6)
    head = DINOHead(in_dim=12, out_dim=32, hidden_dim=20, bottleneck_dim=8, n_layers=n_layers)
    x = torch.randn(5, 12, requires_grad=True)
    out = head(x)
    assert out.shape == (5, 32)
    weight = head.last_layer.weight
    assert torch.allclose(weight.norm(dim=1), torch.ones(32), atol=1e-5)
    assert head.last_layer.bias is None
    assert not head.last_layer.parametrizations.weight.original0.requires_grad
    # prototypes are unit vectors and the input is L2-normalised: cosine similarities
    assert out.abs().max() <= 1 + 1e-5
    out.pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert head.last_layer.parametrizations.weight.original1.grad.abs().sum() > 0
    assert all(p.grad is not None for p in head.mlp.parameters())
    # the norm stays 1 after an optimiser step
    torch.optim.SGD([p for p in head.parameters() if p.requires_grad], lr=1.0).step()
    assert torch.allclose(head.last_layer.weight.norm(dim=1), torch.ones(32), atol=1e-5)
