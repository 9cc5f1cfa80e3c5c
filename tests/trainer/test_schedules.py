"""DINOv2 schedules and layer-wise-decayed AdamW parameter groups."""

import math

import numpy as np
import pytest
import torch

from trainer.models import HeadConfig, SSLMetaArch
from trainer.train import Schedules, cosine_schedule, param_groups


def test_cosine_schedule_warmup_and_cosine():
    s = cosine_schedule(1.0, 0.1, 110, warmup_steps=10, start_warmup=0.0)
    assert len(s) == 110 and s.dtype == np.float64
    np.testing.assert_allclose(s[:10], np.linspace(0.0, 1.0, 10))
    np.testing.assert_allclose(np.diff(s[:10]), 1.0 / 9)
    assert s[10] == pytest.approx(1.0)
    assert np.all(np.diff(s[10:]) < 0)
    end = 0.1 + 0.45 * (1 + math.cos(math.pi * 99 / 100))
    assert s[-1] == pytest.approx(end)
    assert s[-1] == pytest.approx(0.1, abs=1e-3)
    assert s[60] == pytest.approx(0.55)  # half-way through the cosine
    f = cosine_schedule(1.0, 0.0, 20, warmup_steps=5, freeze_steps=3)
    assert len(f) == 20 and np.all(f[:3] == 0) and f[7] == pytest.approx(1.0)
    assert np.all(cosine_schedule(0.5, 0.5, 7) == 0.5)
    with pytest.raises(ValueError):
        cosine_schedule(1.0, 0.0, 5, warmup_steps=6)


def test_schedules_from_recipe():
    sch = Schedules.from_recipe(
        1000,
        steps_per_epoch=10,
        base_lr=1e-3,
        min_lr=1e-6,
        warmup_epochs=10,
        warmup_teacher_temp_epochs=30,
        freeze_last_layer_epochs=1,
    )
    for arr in (sch.lr, sch.last_layer_lr, sch.weight_decay, sch.momentum, sch.teacher_temp):
        assert len(arr) == 1000
    assert sch.lr[0] == 0.0 and sch.lr[99] == pytest.approx(1e-3) and sch.lr.max() <= 1e-3
    assert np.all(sch.last_layer_lr[:10] == 0) and np.all(sch.last_layer_lr[10:] == sch.lr[10:])
    assert sch.weight_decay[0] == pytest.approx(0.04)
    assert sch.weight_decay[-1] == pytest.approx(0.2, abs=1e-5)
    assert sch.momentum[0] == pytest.approx(0.992)
    assert sch.momentum[-1] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(sch.teacher_temp[:300], np.linspace(0.04, 0.07, 300))
    assert np.all(sch.teacher_temp[300:] == 0.07)
    assert sch.at(10_000) == {
        "lr": 1e-6,
        "last_layer_lr": 1e-6,
        "weight_decay": 0.2,
        "momentum": 1.0,
        "teacher_temp": 0.07,
    }
    assert sch.at(5)["lr"] == sch.lr[5]
    short = Schedules.from_recipe(20, steps_per_epoch=10)  # warm-ups clipped to the run
    assert len(short.lr) == 20 and np.all(short.teacher_temp <= 0.07)


@pytest.fixture(scope="module")
def model():
    head = HeadConfig(prototypes=16, hidden=8, bottleneck=4, layers=2, ibot_prototypes=16)
    return SSLMetaArch("vit_small_patch14_reg4_dinov2", img_size=28, head=head)


def test_param_groups_cover_trainable_once(model):
    groups = param_groups(model, base_lr=1e-3, weight_decay=0.05)
    seen = [id(p) for g in groups for p in g["params"]]
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(seen) == len(set(seen)) == len(trainable)
    assert set(seen) == {id(p) for p in trainable}
    names = {n for g in groups for n in g["names"]}
    assert not any(n.startswith("teacher.") for n in names)
    assert not any("original0" in n for n in names)  # frozen weight-norm magnitude
    assert "student.dino_head.last_layer.parametrizations.weight.original1" in names
    torch.optim.AdamW(groups, lr=1e-3)  # accepted as is


def test_param_groups_decay_sets_and_layer_lrs(model):
    groups = param_groups(model, base_lr=1.0, weight_decay=0.05, layer_decay=0.9)
    by_name = {n: g for g in groups for n in g["names"]}
    no_decay = {n for n, g in by_name.items() if g["weight_decay"] == 0}
    for n in (
        "student.backbone.cls_token",
        "student.backbone.reg_token",
        "student.backbone.pos_embed",
        "mask_token",
        "student.backbone.blocks.0.norm1.weight",
        "student.backbone.norm.bias",
        "student.backbone.blocks.0.attn.qkv.bias",
        "student.backbone.blocks.0.ls1.gamma",
        "student.dino_head.mlp.0.bias",
    ):
        assert n in no_decay, n
    for n in (
        "student.backbone.blocks.0.attn.qkv.weight",
        "student.backbone.patch_embed.proj.weight",
        "student.dino_head.mlp.0.weight",
        "student.dino_head.last_layer.parametrizations.weight.original1",
    ):
        assert by_name[n]["weight_decay"] == pytest.approx(0.05), n
    n_blocks = len(model.student["backbone"].blocks)
    lr = {n: g["lr"] for n, g in by_name.items()}
    assert lr["student.dino_head.mlp.0.weight"] == pytest.approx(1.0)
    assert lr["student.backbone.norm.weight"] == pytest.approx(1.0)
    block_lrs = [lr[f"student.backbone.blocks.{i}.attn.qkv.weight"] for i in range(n_blocks)]
    assert all(a < b for a, b in zip(block_lrs, block_lrs[1:], strict=False))
    assert block_lrs[-1] == pytest.approx(0.9)
    assert lr["student.backbone.cls_token"] == pytest.approx(0.9 ** (n_blocks + 1))
    assert lr["mask_token"] == pytest.approx(0.9 ** (n_blocks + 1))
    assert lr["student.backbone.patch_embed.proj.weight"] == pytest.approx(
        0.2 * 0.9 ** (n_blocks + 1)
    )
    assert lr["student.backbone.patch_embed.proj.weight"] < block_lrs[0]
    assert by_name["student.dino_head.last_layer.parametrizations.weight.original1"][
        "is_last_layer"
    ]
    assert not by_name["student.dino_head.mlp.0.weight"]["is_last_layer"]
