"""The training loop on real tiles (a manifest built from the tiled demo slides / real SVS):
the loss falls on a fixed batch, exact resume, atomic checkpoints, a timm-loadable export,
metrics lines, and the Sinkhorn-Knopp option. cpu_smoke-sized (tiny ViT, 32 / 16 px crops)."""

import json

import numpy as np
import pytest
import timm
import torch
from safetensors.torch import load_file

from curation.dataset_sampling import QualityFilter, build_manifest
from curation.dataset_sampling import Recipe as SamplingRecipe
from curation.tile_loader import ManifestTiles
from tests.curation.dataset_data import CATEGORY_OF, cluster_run, slide_inputs
from trainer.data import (
    BatchStainTransfer,
    BlockMaskGenerator,
    MultiCropAugmentation,
    MultiCropCollate,
    cyclic_samples,
    seeded_batches,
)
from trainer.train import METRIC_KEYS, Recipe, Trainer, cpu_smoke
from trainer.train import loop as loop_module

SAMPLING = SamplingRecipe(
    group_weights={"A": 1.0, "B": 1.0},
    category_weights={"Tumour": 1.0, "Stroma": 1.0, "Immune": 1.0},
    budget=24,
    per_slide_cap=None,
    quality=QualityFilter(min_tissue_fraction=0.5),
    validation_fraction=0.0,
    seed=5,
)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory, demo_slide_dir):
    slides = slide_inputs(*cluster_run(tmp_path_factory.getbasetemp(), demo_slide_dir))
    path = tmp_path_factory.mktemp("train") / "manifest.parquet"
    build_manifest(slides, CATEGORY_OF, SAMPLING, path)
    return path


@pytest.fixture(scope="module")
def tiles(manifest):
    """Real tiles read from the slides through the manifest loader (a dozen is plenty)."""
    out = []
    for tile, row in ManifestTiles(manifest, shuffle=True, seed=1).as_torch_dataset():
        out.append((tile, row))
        if len(out) == 12:
            break
    assert len(out) >= 8
    assert len({row["slide_id"] for _, row in out}) > 1
    return out


def smoke(**changes) -> Recipe:
    base = {"total_steps": 6, "checkpoint_every": 0, "local_crops_number": 2}
    return cpu_smoke(**{**base, **changes})


def factory(recipe: Recipe, tiles):
    mask = BlockMaskGenerator(
        (recipe.global_crops_size // 16,) * 2, *recipe.mask_ratio, min_block_patches=1
    )
    collate = MultiCropCollate(
        MultiCropAugmentation(recipe.multicrop_config()),
        mask,
        recipe.mask_probability,
        BatchStainTransfer(recipe.stain_transfer_p),
    )
    samples = cyclic_samples(tiles, recipe.batch_size, recipe.seed)
    return lambda start: seeded_batches(samples, collate, recipe.seed, start)


def read_metrics(out_dir):
    return [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]


def test_collate_shapes_and_crop_major_order(tiles):
    recipe = smoke()
    batch = next(factory(recipe, tiles)(0))
    b = recipe.batch_size
    assert batch["global"].shape == (2 * b, 3, 32, 32)
    assert batch["local"].shape == (2 * b, 3, 16, 16)
    assert batch["masks"].shape == (2 * b, 4) and batch["masks"].dtype == torch.bool
    assert len(batch["slide_ids"]) == b
    # a pure function of (seed, step), whatever the global RNG did before
    torch.manual_seed(123)
    again = next(factory(recipe, tiles)(0))
    assert torch.equal(again["global"], batch["global"])
    assert torch.equal(again["masks"], batch["masks"])
    assert not torch.equal(next(factory(recipe, tiles)(1))["global"], batch["global"])


def test_loss_falls_on_a_fixed_batch(tiles, tmp_path):
    recipe = smoke(total_steps=40, lr=2e-3, warmup_epochs=0, stain_transfer_p=0.0)
    trainer = Trainer(recipe, factory(recipe, tiles), tmp_path)
    batch = next(factory(recipe, tiles)(0))
    before = trainer.loss_on(batch)["loss"]
    for _ in range(5):
        trainer.train_step(batch)
    after = trainer.loss_on(batch)["loss"]
    assert after < before - 0.5, (before, after)


def test_resume_gives_exactly_the_same_losses(tiles, tmp_path):
    recipe = smoke()
    straight = Trainer(recipe, factory(recipe, tiles), tmp_path / "a")
    assert straight.fit() == 6
    expected = read_metrics(tmp_path / "a")

    first = Trainer(recipe, factory(recipe, tiles), tmp_path / "b")
    assert first.fit(steps=3) == 3
    folder = tmp_path / "b" / "checkpoints"
    assert json.loads((folder / "latest.json").read_text())["step"] == 3
    assert (folder / "step-3.safetensors").is_file() and (folder / "step-3.pt").is_file()
    torch.manual_seed(999)  # a different process state must not matter
    np.random.seed(999)
    second = Trainer(recipe, factory(recipe, tiles), tmp_path / "b")
    assert second.resume() == 3
    assert second.fit() == 6
    resumed = read_metrics(tmp_path / "b")

    assert [m["step"] for m in resumed] == [1, 2, 3, 4, 5, 6]
    for key in ("loss", "dino", "ibot", "koleo", "lr", "momentum", "teacher_temp"):
        assert [m[key] for m in resumed] == [m[key] for m in expected], key
    for a, b in zip(
        straight.model.state_dict().values(), second.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)

    # metrics: one line per step with every key
    assert len(expected) == 6
    for step, line in enumerate(expected, start=1):
        assert set(METRIC_KEYS) <= set(line) and line["step"] == step
        assert line["gpu_mem_mb"] is None and line["images_per_s"] > 0

    # checkpoint files: safetensors (model + centres) and a torch .pt
    tensors = load_file(str(folder / "step-6.safetensors"))
    assert "dino_loss.center" in tensors and "model.mask_token" in tensors
    assert any(k.startswith("model.teacher.") for k in tensors)
    state = torch.load(folder / "step-6.pt", weights_only=False)
    assert state["step"] == 6 and {"torch", "numpy", "python"} <= set(state["rng"])

    # export: a plain timm model loads the teacher backbone strictly, same features
    path = second.export_backbone(tmp_path / "export" / "backbone.safetensors", "abc123")
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["step"] == 6 and card["dataset"]["manifest_sha256"] == "abc123"
    assert card["recipe"] == recipe.to_dict() and card["metrics"]["step"] == 6
    model = timm.create_model(card["model"], pretrained=False, num_classes=0, img_size=32)
    model.load_state_dict(load_file(str(path)), strict=True)
    model.eval()
    second.model.eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected_tokens = second.model.teacher["backbone"].forward_features(images)
        assert torch.allclose(model.forward_features(images), expected_tokens, atol=1e-6)


def test_a_killed_checkpoint_write_leaves_no_file(tiles, tmp_path, monkeypatch):
    recipe = smoke(total_steps=2)
    trainer = Trainer(recipe, factory(recipe, tiles), tmp_path)
    trainer.train_step(next(factory(recipe, tiles)(0)))

    def killed(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"partial")
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(loop_module, "save_file", killed)
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint()
    folder = tmp_path / "checkpoints"
    assert not folder.exists() or sorted(folder.iterdir()) == []
    monkeypatch.undo()
    trainer.save_checkpoint()
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["latest.json", "step-1.pt", "step-1.safetensors"]


def test_stop_request_checkpoints_and_sinkhorn_runs(tiles, tmp_path):
    recipe = smoke(centering="sinkhorn_knopp", total_steps=5)
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 2  # stop before the third step

    trainer = Trainer(recipe, factory(recipe, tiles), tmp_path, stop_requested=stop)
    assert trainer.fit() == 2
    lines = read_metrics(tmp_path)
    assert [m["step"] for m in lines] == [1, 2]
    assert all(np.isfinite(m["loss"]) for m in lines)
    assert torch.count_nonzero(trainer.dino_loss.center) == 0  # no centring with Sinkhorn
    assert json.loads((tmp_path / "checkpoints" / "latest.json").read_text())["step"] == 2


def test_recipe_round_trip_and_presets():
    from trainer.train import paper_vit_l14, vit_s_single_gpu

    for recipe in (cpu_smoke(), vit_s_single_gpu(), paper_vit_l14()):
        data = json.loads(json.dumps(recipe.to_dict()))
        assert Recipe.from_dict(data) == recipe
    paper = paper_vit_l14()
    assert paper.batch_size == 960 and paper.total_steps == 625_000
    assert "reg4" in paper.model and paper.weights
    assert (paper.dino_loss_weight, paper.ibot_loss_weight, paper.koleo_loss_weight) == (1, 1, 0.1)
    with pytest.raises(ValueError):
        Recipe(centering="nope")
    with pytest.raises(ValueError):
        Recipe.from_dict({"no_such_field": 1})
