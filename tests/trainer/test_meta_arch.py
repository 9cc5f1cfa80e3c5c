"""SSLMetaArch: student / EMA teacher built from timm ViTs, masking, EMA, weights, export."""

import pytest
import torch
from safetensors.torch import save_file

from trainer.models import HeadConfig, SSLMetaArch

HEAD = HeadConfig(prototypes=32, hidden=16, bottleneck=8, layers=2, ibot_prototypes=24)
TINY = "vit_tiny_patch16_224"
REG = "vit_small_patch14_reg4_dinov2"


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return SSLMetaArch(TINY, img_size=32, drop_path_rate=0.1, head=HEAD)


@pytest.mark.parametrize(
    ("name", "size", "n_patches"), [(TINY, 32, 4), (TINY, 64, 16), (REG, 28, 4)]
)
def test_shapes_skip_prefix_tokens(name, size, n_patches):
    model = SSLMetaArch(name, img_size=size, head=HEAD).eval()
    images = torch.randn(2, 3, size, size)
    cls, patch = model.forward_features(images)
    assert cls.shape == (2, model.embed_dim)
    assert patch.shape == (2, n_patches, model.embed_dim)
    full = model.student["backbone"].forward_features(images)
    assert torch.equal(cls, full[:, 0])
    assert torch.equal(patch, full[:, -n_patches:])
    masks = torch.zeros(2, n_patches, dtype=torch.bool)
    masks[0, 1] = True
    cls_m, patch_m = model.forward_features(images, masks)
    assert patch_m.shape == patch.shape
    t_cls, t_patch = model.forward_features(images, teacher=True)
    assert t_cls.shape == cls.shape and t_patch.shape == patch.shape


def test_unmasked_student_path_equals_timm_forward(tiny):
    tiny.eval()
    images = torch.randn(2, 3, 32, 32)
    masks = torch.zeros(2, 4, dtype=torch.bool)
    a = tiny.forward_features(images, masks)
    b = tiny.forward_features(images)
    torch.testing.assert_close(a.cls, b.cls)
    torch.testing.assert_close(a.patch, b.patch)


def test_masking_replaces_exactly_the_masked_embeddings(tiny):
    tiny.eval()
    with torch.no_grad():
        tiny.mask_token.copy_(torch.randn_like(tiny.mask_token))
    images = torch.randn(2, 3, 32, 32)
    masks = torch.tensor([[True, False, False, True], [False, True, False, False]])
    backbone = tiny.student["backbone"]
    plain = backbone.patch_embed(images)
    masked = tiny.patch_embeddings(images, masks)
    assert torch.equal(masked[masks], tiny.mask_token.expand(int(masks.sum()), -1))
    assert torch.equal(masked[~masks], plain[~masks])

    seen = {}
    hook = backbone.blocks[0].register_forward_pre_hook(lambda m, a: seen.update(x=a[0]))
    try:
        tiny.forward_features(images, masks)
    finally:
        hook.remove()
    fed = seen["x"][:, backbone.num_prefix_tokens :] - backbone.pos_embed[:, 1:]
    torch.testing.assert_close(fed[masks], tiny.mask_token.expand(int(masks.sum()), -1))
    torch.testing.assert_close(fed[~masks], plain[~masks])
    with pytest.raises(ValueError):
        tiny.forward_features(images, masks, teacher=True)


def test_heads_shared_or_separate():
    shared = SSLMetaArch(TINY, img_size=32, head=HEAD)
    assert shared.student["ibot_head"] is shared.student["dino_head"]
    assert shared.teacher["ibot_head"] is shared.teacher["dino_head"]
    assert shared.teacher["dino_head"] is not shared.student["dino_head"]
    sep = SSLMetaArch(
        TINY,
        img_size=32,
        head=HeadConfig(
            prototypes=32,
            hidden=16,
            bottleneck=8,
            layers=2,
            ibot_separate_head=True,
            ibot_prototypes=24,
            ibot_hidden=16,
            ibot_bottleneck=8,
            ibot_layers=2,
        ),
    )
    assert sep.student["ibot_head"] is not sep.student["dino_head"]
    x = torch.randn(3, sep.embed_dim)
    assert sep.student["dino_head"](x).shape == (3, 32)
    assert sep.student["ibot_head"](x).shape == (3, 24)


def test_teacher_starts_equal_frozen_without_drop_path(tiny):
    s = dict(tiny.student.named_parameters())
    t = dict(tiny.teacher.named_parameters())
    assert s.keys() == t.keys()
    assert all(torch.equal(s[k], t[k]) for k in s)
    assert not any(p.requires_grad for p in tiny.teacher.parameters())
    drops = [m for m in tiny.teacher.modules() if type(m).__name__ == "DropPath"]
    assert drops and all(m.drop_prob == 0.0 for m in drops)
    assert any(m.drop_prob > 0 for m in tiny.student.modules() if type(m).__name__ == "DropPath")
    tiny.train()
    cls, _ = tiny.forward_features(torch.randn(2, 3, 32, 32), teacher=True)
    assert not cls.requires_grad


def test_update_teacher_is_ema():
    torch.manual_seed(1)
    model = SSLMetaArch(TINY, img_size=32, head=HEAD)
    with torch.no_grad():
        for p in model.student.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p))
    before = {k: v.clone() for k, v in model.teacher.named_parameters()}
    student = dict(model.student.named_parameters())
    m = 0.9
    model.update_teacher(m)
    for k, t in model.teacher.named_parameters():
        expected = m * before[k] + (1 - m) * student[k].detach()
        torch.testing.assert_close(t, expected, rtol=0, atol=1e-6)
        assert not t.requires_grad
    model.update_teacher(1.0)  # momentum 1 leaves the teacher exactly as it is
    after = {k: v.clone() for k, v in model.teacher.named_parameters()}
    model.update_teacher(1.0)
    assert all(torch.equal(after[k], t) for k, t in model.teacher.named_parameters())
    model.update_teacher(0.0)  # momentum 0 copies the student
    assert all(torch.equal(student[k], t) for k, t in model.teacher.named_parameters())


def test_weights_roundtrip_safetensors_and_dinov2_layout(tmp_path):
    torch.manual_seed(2)
    source = SSLMetaArch(TINY, img_size=32, head=HEAD).eval()
    with torch.no_grad():  # make the export differ from any fresh initialisation
        for p in source.teacher["backbone"].parameters():
            p.add_(0.01 * torch.randn_like(p))
    exported = source.backbone_state_dict()
    assert set(exported) == set(source.teacher["backbone"].state_dict())
    images = torch.randn(2, 3, 32, 32)
    reference = source.forward_features(images, teacher=True)

    path = tmp_path / "backbone.safetensors"
    save_file(exported, str(path))
    nested = tmp_path / "dinov2.pth"
    torch.save({"teacher": {f"backbone.{k}": v for k, v in exported.items()}}, nested)
    for file in (path, nested):
        loaded = SSLMetaArch(TINY, img_size=32, weights=str(file), head=HEAD).eval()
        for out in (
            loaded.forward_features(images),
            loaded.forward_features(images, teacher=True),
        ):
            assert torch.equal(out.cls, reference.cls)
            assert torch.equal(out.patch, reference.patch)


def test_bad_weights_and_names(tmp_path):
    with pytest.raises(ValueError):
        SSLMetaArch("no_such_model_xyz", img_size=32, head=HEAD)
    with pytest.raises(FileNotFoundError):
        SSLMetaArch(TINY, img_size=32, weights=str(tmp_path / "missing.safetensors"), head=HEAD)
