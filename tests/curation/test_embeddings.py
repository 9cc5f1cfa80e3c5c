"""Deep tile embeddings: a tiny timm ViT (random init or loaded weights) embeds the tiles of a
tile file into one float16 .npy per slide, aligned with the tile file, written atomically."""

import re

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from curation.atomic import atomic_write
from curation.embeddings import (
    EmbeddingModelSpec,
    embed_slide,
    embedding_path,
    load_model,
    model_key,
    read_embeddings,
    torch_device,
)
from curation.slide_reader import SlideReader
from curation.synthetic_slides import TissueCanvas, write_pyramidal_tiff
from curation.tile_store import read_tiles, tile_table, write_tile_table
from curation.tiling import TilingConfig, tile_slide

# 32 px input: a 2 × 2 patch grid, so a forward pass of a few dozen tiles takes milliseconds.
TINY = EmbeddingModelSpec("vit_tiny_patch16_224", image_size=32, batch_size=8)
TILING = TilingConfig(tile_size=64, target_mpp=1.0, min_tissue_fraction=0.5, features=False)


@pytest.fixture(scope="module")
def slide(tmp_path_factory):
    """A 2048 × 1536 slide at 0.5 µm/px (known tissue) in 128 px (level-0) tiles: 43 of them."""
    canvas = TissueCanvas(2048, 1536, seed=3)
    folder = tmp_path_factory.mktemp("emb")
    path = write_pyramidal_tiff(folder / "slide.tiff", canvas, width=2048, height=1536, mpp=0.5)
    tiles = tile_slide(path, folder / "tiles.parquet", TILING).path
    return path, tiles, canvas


@pytest.fixture(scope="module")
def tiny():
    return load_model(TINY, device="cpu")


def _embed(slide_path, tile_path, out, model, **kwargs):
    return embed_slide(
        slide_path,
        tile_path,
        out,
        model,
        tile_size=TILING.tile_size,
        target_mpp=TILING.target_mpp,
        **kwargs,
    )


def _tile_file(path, xs, ys, size=128.0, mpp=1.0):
    n = len(xs)
    table = tile_table(xs, ys, size, mpp, np.ones(n), None, (), None, ())
    return write_tile_table(path, table, {})


def _perturbed_state(model, seed):
    """The model's weights plus seeded noise: a 'trained' model that random init is not."""
    generator = torch.Generator().manual_seed(seed)
    return {
        k: v + 0.05 * torch.randn(v.shape, generator=generator) if v.is_floating_point() else v
        for k, v in model.module.state_dict().items()
    }


def _model_with(spec, state):
    model = load_model(spec, device="cpu")
    model.module.load_state_dict(state)
    return model


# -- embedding slides -------------------------------------------------------------------


def test_embed_slide_gives_float16_rows_aligned_with_the_tile_file(slide, tiny, tmp_path):
    slide_path, tile_path, _ = slide
    coords = read_tiles(tile_path, columns=["x", "y"])
    n = coords.num_rows
    assert 16 < n < 64  # a few dozen tiles, more than two batches of 8
    calls = []
    out = tmp_path / "emb.npy"
    assert _embed(slide_path, tile_path, out, tiny, progress=lambda d, t: calls.append((d, t))) == n
    emb = read_embeddings(out)
    assert emb.shape == (n, tiny.dim) == (n, 192) and emb.dtype == np.float16
    assert isinstance(emb, np.memmap) and np.isfinite(emb).all()
    assert calls[-1] == (n, n) and [d for d, _ in calls] == sorted({d for d, _ in calls})
    assert len(calls) == -(-n // TINY.batch_size)
    # Row i is tile i of the tile file: embed a few tiles read directly and compare.
    picks = [0, n // 2, n - 1]
    with SlideReader(slide_path) as reader:
        direct = np.stack(
            [reader.read(coords["x"][i].as_py(), coords["y"][i].as_py(), 64, 1.0) for i in picks]
        )
    np.testing.assert_allclose(emb[picks], tiny.embed(direct), atol=2e-3, rtol=2e-3)
    # Deterministic: a fresh load of the same spec (random init) gives the same bytes.
    again = tmp_path / "again.npy"
    _embed(slide_path, tile_path, again, load_model(TINY, device="cpu"))
    assert out.read_bytes() == again.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.npy", "emb.npy"]  # no temps


def test_identical_tiles_match_and_different_tissue_differs(slide, tiny, tmp_path):
    slide_path, _, canvas = slide
    (tx, ty), (bx, by) = canvas.tissue_point(0), canvas.background_point(margin=160)
    ox, oy = canvas.tissue_point(1)
    tile_path = _tile_file(
        tmp_path / "t.parquet",
        [tx - 64, bx - 64, tx - 64, ox - 64, tx - 64],
        [ty - 64, by - 64, ty - 64, oy - 64, ty - 64],
    )
    out = tmp_path / "e.npy"
    assert _embed(slide_path, tile_path, out, tiny) == 5
    emb = read_embeddings(out).astype(np.float32)
    assert np.array_equal(emb[0], emb[2]) and np.array_equal(emb[0], emb[4])
    for a, b in [(0, 1), (0, 3), (1, 3)]:  # tissue vs glass, two tissue sections
        assert np.abs(emb[a] - emb[b]).max() > 0.05, (a, b)


def test_an_empty_tile_file_gives_an_empty_array(slide, tiny, tmp_path):
    tile_path = _tile_file(tmp_path / "none.parquet", [], [])
    calls = []
    out = tmp_path / "none.npy"
    assert _embed(slide[0], tile_path, out, tiny, progress=lambda d, t: calls.append((d, t))) == 0
    emb = read_embeddings(out)
    assert emb.shape == (0, 192) and emb.dtype == np.float16 and calls == [(0, 0)]
    assert tiny.embed(np.zeros((0, 64, 64, 3), np.uint8)).shape == (0, 192)


def test_a_failure_midway_leaves_no_file_and_no_temporary(slide, tiny, tmp_path, monkeypatch):
    slide_path, tile_path, _ = slide
    real_embed = tiny.embed
    calls = []

    def failing(tiles):
        calls.append(len(tiles))
        if len(calls) > 1:
            raise RuntimeError("GPU fell off the bus")
        return real_embed(tiles)

    monkeypatch.setattr(tiny, "embed", failing)
    out = tmp_path / "out" / "emb.npy"
    with pytest.raises(RuntimeError, match="fell off"):
        _embed(slide_path, tile_path, out, tiny)
    assert len(calls) == 2 and list(out.parent.iterdir()) == []
    # An earlier complete file stays as it was.
    out.write_bytes(b"old")
    calls.clear()
    with pytest.raises(RuntimeError):
        _embed(slide_path, tile_path, out, tiny)
    assert out.read_bytes() == b"old" and [p.name for p in out.parent.iterdir()] == ["emb.npy"]


def test_embed_checks_its_input_and_resizes_any_tile_size(tiny):
    with pytest.raises(ValueError, match="uint8"):
        tiny.embed(np.zeros((2, 32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        tiny.embed(np.zeros((32, 32, 3), np.uint8))
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 256, (3, 48, 48, 3), dtype=np.uint8)
    out = tiny.embed(tiles)
    assert out.shape == (3, 192) and out.dtype == np.float32 and np.isfinite(out).all()
    assert tiny.image_size == 32 and tiny.mean == (0.5, 0.5, 0.5)  # the model's own config


def test_real_slide(real_svs, tiny, tmp_path):
    with SlideReader(real_svs) as reader:
        width, height = reader.dimensions
        side = 64 * 1.0 / reader.mpp
    xs = [int(width * f) for f in (0.2, 0.4, 0.6, 0.3, 0.5, 0.7)]
    ys = [int(height * f) for f in (0.3, 0.3, 0.3, 0.6, 0.6, 0.6)]
    tile_path = _tile_file(tmp_path / "real.parquet", xs, ys, size=side, mpp=1.0)
    out = tmp_path / "real.npy"
    assert embed_slide(real_svs, tile_path, out, tiny, tile_size=64, target_mpp=1.0) == 6
    emb = read_embeddings(out)
    assert emb.shape == (6, 192) and np.isfinite(emb).all()
    assert len({row.tobytes() for row in emb}) == 6


# -- weights ----------------------------------------------------------------------------


def test_weights_round_trip_through_safetensors_and_torch_checkpoints(tiny, tmp_path):
    state = _perturbed_state(tiny, seed=1)
    source = _model_with(TINY, state)
    tiles = np.random.default_rng(1).integers(0, 256, (6, 64, 64, 3), dtype=np.uint8)
    expected = source.embed(tiles)
    assert not np.allclose(expected, tiny.embed(tiles), atol=1e-3)

    safetensors_path = tmp_path / "backbone.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, safetensors_path)
    # A trainer checkpoint: DDP prefixes, a classifier head, an optimiser step counter.
    checkpoint = {
        "model": {
            **{f"module.{k}": v for k, v in state.items()},
            "module.head.weight": torch.zeros(5, 192),
            "module.head.bias": torch.zeros(5),
        },
        "epoch": 3,
    }
    pth_path = tmp_path / "checkpoint.pth"
    torch.save(checkpoint, pth_path)

    keys = {model_key(TINY)}
    for path in (safetensors_path, pth_path):
        spec = EmbeddingModelSpec(TINY.name, weights=str(path), image_size=32, batch_size=8)
        loaded = load_model(spec, device="cpu")
        np.testing.assert_array_equal(loaded.embed(tiles), expected)
        key = model_key(spec)
        assert re.fullmatch(r"[0-9a-f]{16}", key) and key == model_key(spec)
        keys.add(key)
    assert len(keys) == 3  # random init and two different files

    # New content in the file (as a retrained model would have) → a new key.
    spec = EmbeddingModelSpec(TINY.name, weights=str(safetensors_path), image_size=32)
    before = model_key(spec)
    with atomic_write(safetensors_path) as temporary:
        save_file({k: v.contiguous() for k, v in _perturbed_state(tiny, 2).items()}, temporary)
    assert model_key(spec) != before
    assert model_key(spec) != model_key(EmbeddingModelSpec(TINY.name, weights=str(pth_path)))


def test_dinov2_checkpoints_load_through_timms_converter(tmp_path):
    """A DINOv2 teacher checkpoint (backbone.* keys, register_tokens, mask_token, the
    position embedding covering the class token, projection heads) loads into timm's ViT."""
    spec = EmbeddingModelSpec("vit_small_patch14_reg4_dinov2", image_size=28, batch_size=4)
    source = load_model(spec, device="cpu")
    state = _perturbed_state(source, seed=3)
    source.module.load_state_dict(state)
    dinov2 = {k: v for k, v in state.items() if k not in ("reg_token", "pos_embed")}
    dinov2["register_tokens"] = state["reg_token"]
    dinov2["pos_embed"] = torch.cat([torch.zeros(1, 1, 384), state["pos_embed"]], dim=1)
    dinov2["mask_token"] = torch.zeros(1, 384)
    teacher = {f"backbone.{k}": v for k, v in dinov2.items()}
    teacher["dino_head.last_layer.weight"] = torch.zeros(8, 16)
    path = tmp_path / "teacher_checkpoint.pth"
    torch.save({"teacher": teacher}, path)

    tiles = np.random.default_rng(2).integers(0, 256, (3, 28, 28, 3), dtype=np.uint8)
    loaded = load_model(EmbeddingModelSpec(spec.name, weights=str(path), image_size=28), "cpu")
    np.testing.assert_array_equal(loaded.embed(tiles), source.embed(tiles))
    # At another input size timm resamples the position embedding.
    larger = load_model(EmbeddingModelSpec(spec.name, weights=str(path), image_size=56), "cpu")
    assert larger.embed(tiles).shape == (3, 384)


def test_weights_that_do_not_fit_are_refused_with_the_keys(tiny, tmp_path):
    state = {k: v.contiguous() for k, v in tiny.module.state_dict().items()}
    path = tmp_path / "tiny.safetensors"
    save_file(state, path)
    small = EmbeddingModelSpec("vit_small_patch16_224", weights=str(path), image_size=32)
    with pytest.raises(ValueError, match=r"do not fit.*shape mismatches.*blocks\.0\."):
        load_model(small, device="cpu")

    shallow = tmp_path / "shallow.safetensors"
    save_file({k: v for k, v in state.items() if not k.startswith("blocks.11.")}, shallow)
    spec = EmbeddingModelSpec(TINY.name, weights=str(shallow), image_size=32)
    with pytest.raises(ValueError, match=r"missing keys \(\d+\): blocks\.11\."):
        load_model(spec, device="cpu")

    extra = tmp_path / "extra.pt"
    torch.save({**state, "decoder.proj.weight": torch.zeros(2, 2)}, extra)
    spec = EmbeddingModelSpec(TINY.name, weights=str(extra), image_size=32)
    with pytest.raises(ValueError, match=r"unexpected keys \(1\): decoder\.proj\.weight"):
        load_model(spec, device="cpu")


def test_missing_or_unreadable_weights_files(tmp_path):
    missing = EmbeddingModelSpec(TINY.name, weights=str(tmp_path / "nope.safetensors"))
    with pytest.raises(ValueError, match="not found.*nope.safetensors"):
        load_model(missing, device="cpu")
    with pytest.raises(FileNotFoundError, match="not found"):
        model_key(missing)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(ValueError, match="not a loadable torch checkpoint"):
        load_model(EmbeddingModelSpec(TINY.name, weights=str(junk)), device="cpu")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="safetensors"):
        load_model(EmbeddingModelSpec(TINY.name, weights=str(bad)), device="cpu")


def test_an_unknown_model_name_is_refused():
    with pytest.raises(ValueError, match=r"unknown timm model name.*list_models"):
        load_model(EmbeddingModelSpec("vit_tinny_patch16_224"), device="cpu")


# -- spec, key, paths, device -----------------------------------------------------------


def test_spec_round_trips_and_validates():
    spec = EmbeddingModelSpec("vit_small_patch14_reg4_dinov2", "/w/model.safetensors", 224, 32)
    assert EmbeddingModelSpec.from_dict(spec.to_dict()) == spec
    assert spec.to_dict() == {
        "name": "vit_small_patch14_reg4_dinov2",
        "weights": "/w/model.safetensors",
        "image_size": 224,
        "batch_size": 32,
    }
    assert EmbeddingModelSpec.from_dict({"name": "x"}) == EmbeddingModelSpec("x")
    with pytest.raises(ValueError, match="unknown.*keys.*'layers'"):
        EmbeddingModelSpec.from_dict({"name": "x", "layers": 3})
    with pytest.raises(ValueError, match="name"):
        EmbeddingModelSpec.from_dict({"weights": None})
    for bad in ({"image_size": 0}, {"batch_size": 0}, {"image_size": 2.5}, {"weights": ""}):
        with pytest.raises(ValueError):
            EmbeddingModelSpec("vit_tiny_patch16_224", **bad)


def test_model_key_depends_on_name_and_size_not_batch():
    key = model_key(TINY)
    assert re.fullmatch(r"[0-9a-f]{16}", key)
    assert key == model_key(EmbeddingModelSpec(TINY.name, image_size=32, batch_size=256))
    assert key != model_key(EmbeddingModelSpec(TINY.name, image_size=64))
    assert key != model_key(EmbeddingModelSpec("vit_small_patch16_224", image_size=32))


def test_embedding_path_layout_and_refused_keys(tmp_path):
    path = embedding_path(tmp_path, "0123456789abcdef", "t256-m0.5-abc", "ffee01")
    assert path == tmp_path / "embeddings/0123456789abcdef/t256-m0.5-abc/ff/ffee01.npy"
    for args in (
        ("..", "c", "s"),
        ("m", "a/b", "s"),
        ("m", "c", "../../etc"),
        ("m", "c", ".hidden"),
        ("m", "c", ""),
        ("_m", "c", "s"),
    ):
        with pytest.raises(ValueError):
            embedding_path(tmp_path, *args)


def test_read_embeddings_refuses_other_arrays(tmp_path):
    np.save(tmp_path / "f32.npy", np.zeros((3, 4), np.float32))
    np.save(tmp_path / "flat.npy", np.zeros(4, np.float16))
    for name in ("f32.npy", "flat.npy"):
        with pytest.raises(ValueError, match="float16"):
            read_embeddings(tmp_path / name)


def test_torch_device_defaults_and_override(monkeypatch):
    monkeypatch.delenv("RUDOLFV_TORCH_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert torch_device().type == expected
    assert torch_device(prefer_gpu=False).type == "cpu"
    monkeypatch.setenv("RUDOLFV_TORCH_DEVICE", "cpu")
    assert torch_device() == torch.device("cpu")
    monkeypatch.setenv("RUDOLFV_TORCH_DEVICE", "warp-drive")
    with pytest.raises(ValueError, match="not a torch device"):
        torch_device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("RUDOLFV_TORCH_DEVICE", "cuda")
        with pytest.raises(ValueError, match="no CUDA"):
            torch_device()
