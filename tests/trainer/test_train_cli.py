"""The training command and its manifest data source, on a manifest of real tiles (the tiled
demo slides and CMU-1): batches that do not depend on the DataLoader workers, weighted and
uniform sampling, unreadable slides, stain statistics, and `python -m trainer` end to end
(metrics, evaluation on the NCT tiles, a stop by SIGTERM and an exact resume, the export,
exit codes for bad input)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import timm
import torch
from safetensors.torch import load_file

from curation.dataset_sampling import QualityFilter, build_manifest
from curation.dataset_sampling import Recipe as SamplingRecipe
from curation.tile_loader import ReaderCache
from tests.curation.dataset_data import CATEGORY_OF, cluster_run, slide_inputs
from trainer.cli import TrainArgs, build_recipe
from trainer.data.augmentations import stain_stats
from trainer.data.device_augment import augment_batch
from trainer.data.manifest_source import (
    ManifestError,
    ManifestIndex,
    StepBatches,
    StepSampler,
    batch_iterator,
    precompute_stain_stats,
)
from trainer.train import Trainer, cpu_smoke

NCT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tiles" / "nct-crc-he"
SAMPLING = SamplingRecipe(
    group_weights={"A": 1.0, "B": 1.0},
    category_weights={"Tumour": 1.0, "Stroma": 1.0, "Immune": 1.0},
    budget=40,
    per_slide_cap=None,
    quality=QualityFilter(min_tissue_fraction=0.5),
    validation_fraction=0.0,
    seed=3,
)
SMALL = ["--set", "local_crops_number=2", "--set", "checkpoint_every=2"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory, demo_slide_dir):
    slides = slide_inputs(*cluster_run(tmp_path_factory.getbasetemp(), demo_slide_dir))
    path = tmp_path_factory.mktemp("train-cli") / "manifest.parquet"
    build_manifest(slides, CATEGORY_OF, SAMPLING, path)
    return path


def _collate(recipe):
    from trainer.cli import _collate

    return _collate(recipe, 16, None)


def _same(a: dict, b: dict) -> bool:
    """The same tiles and the same random draws (the crops follow from them)."""
    return (
        torch.equal(a["tiles"], b["tiles"])
        and torch.equal(a["masks"], b["masks"])
        and all(torch.equal(a["draws"][k], b["draws"][k]) for k in a["draws"])
    )


def test_batches_do_not_depend_on_workers(manifest):
    recipe = cpu_smoke(local_crops_number=2)
    index = ManifestIndex.read(manifest)
    sampler = StepSampler(index, recipe.batch_size, recipe.seed)
    dataset = StepBatches(index, sampler, _collate(recipe), recipe.seed)
    inline = list(batch_iterator(dataset, 3, 6, workers=0))
    forked = list(batch_iterator(dataset, 3, 6, workers=2))
    assert len(inline) == len(forked) == 3
    assert all(_same(a, b) for a, b in zip(inline, forked, strict=True))
    assert not _same(inline[0], inline[1])  # each step its own batch
    # starting later gives the same batch for the same step (what exact resume needs)
    assert _same(next(batch_iterator(dataset, 4, 6)), inline[1])
    crops = augment_batch(inline[0], recipe.multicrop_config(), "cpu")
    assert crops["global"].shape == (2 * recipe.batch_size, 3, 32, 32)
    assert crops["local"].shape == (2 * recipe.batch_size, 3, 16, 16)


def test_weighted_sampling_gives_each_cell_its_weight(manifest, tmp_path):
    """A cell that fell short of its target still gets its weight's share of the draws."""
    table = pq.read_table(manifest)
    rows = table.to_pylist()
    tumour = [r for r in rows if r["category"] == "Tumour"][:2]  # a cell with 2 tiles
    stroma = [r for r in rows if r["category"] == "Stroma"]
    assert len(stroma) > 6
    for r in tumour + stroma:  # two cells of one group, half the weight each
        r["group"], r["weight"] = "A", 0.5
    path = tmp_path / "short.parquet"
    pq.write_table(type(table).from_pylist(tumour + stroma, schema=table.schema), path)
    index = ManifestIndex.read(path)
    draws = np.concatenate([StepSampler(index, 64, seed=1).global_batch(s) for s in range(40)])
    share = np.isin(draws, [0, 1]).mean()
    assert 0.45 < share < 0.55  # 2 of the tiles, half of the draws
    uniform = StepSampler(index, 4, seed=1, sampling="uniform")
    epoch = np.concatenate([uniform.global_batch(s) for s in range(len(index) // 4)])
    assert len(set(epoch.tolist())) == len(epoch)  # without replacement within an epoch


def test_ranks_split_the_global_batch(manifest):
    index = ManifestIndex.read(manifest)
    sampler = StepSampler(index, 8, seed=2, world_size=2)
    whole = sampler.global_batch(5)
    assert np.array_equal(np.concatenate([sampler.indices(5, 0), sampler.indices(5, 1)]), whole)
    with pytest.raises(ValueError, match="split evenly"):
        StepSampler(index, 7, seed=2, world_size=2)


def test_unreadable_slide_is_replaced_and_manifest_errors(manifest, tmp_path):
    table = pq.read_table(manifest)
    rows = table.to_pylist()
    gone, gone_id = rows[0]["slide_path"], rows[0]["slide_id"]
    for r in rows:
        if r["slide_path"] == gone:
            r["slide_path"] = str(tmp_path / "vanished.tiff")
    path = tmp_path / "gone.parquet"
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    recipe = cpu_smoke(local_crops_number=0, batch_size=8)
    index = ManifestIndex.read(path)
    dataset = StepBatches(index, StepSampler(index, 8, 0), _collate(recipe), 0)
    batches = [dataset[s] for s in range(4)]
    assert all(b["tiles"].shape[0] == 8 for b in batches)
    assert dataset.failed > 0
    assert gone_id not in {i for b in batches for i in b["slide_ids"]}

    with pytest.raises(ManifestError, match="not found"):
        ManifestIndex.read(tmp_path / "nope.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(ManifestError, match="parquet"):
        ManifestIndex.read(tmp_path / "junk.parquet")
    with pytest.raises(ManifestError, match="no rows"):
        ManifestIndex.read(manifest, split="validation")


def test_stain_stats_come_from_the_slides(manifest):
    index = ManifestIndex.read(manifest)
    stats = precompute_stain_stats(index, tiles_per_slide=2, workers=0)
    assert len(stats) == len(index.slide_paths)
    code = 0
    rows = np.flatnonzero(index.slide_codes == code)
    picked = rows[np.linspace(0, len(rows) - 1, min(2, len(rows))).astype(int)]
    readers = ReaderCache()
    tiles = np.stack([readers.read(index.row(int(i))) for i in picked])
    expected = stain_stats(tiles)
    got = stats[int(index.slide_ids[code])]
    assert np.allclose(got.mean, expected.mean) and np.allclose(got.std, expected.std)


def test_recipe_from_command_line():
    recipe = build_recipe(
        TrainArgs(manifest=Path("m"), out=Path("o"), steps=7, sets={"lr": 0.01, "seed": 4})
    )
    assert (recipe.total_steps, recipe.lr, recipe.seed, recipe.name) == (7, 0.01, 4, "cpu_smoke")
    with pytest.raises(ValueError, match="unknown recipe fields"):
        build_recipe(TrainArgs(manifest=Path("m"), out=Path("o"), sets={"nope": 1}))
    with pytest.raises(ValueError, match="unknown preset"):
        build_recipe(TrainArgs(manifest=Path("m"), out=Path("o"), preset="huge"))


# -- the command, in subprocesses as the web app runs it -----------------------------------


def _command(manifest, out, *extra):
    return [sys.executable, "-m", "trainer", "--manifest", str(manifest), "--out", str(out),
            "--no-progress", "--workers", "1", *SMALL, *extra]  # fmt: skip


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _steps(out: Path) -> list[dict]:
    return [m for m in _lines(out) if "loss" in m]


def test_command_trains_evaluates_and_exports(manifest, tmp_path):
    if not NCT.is_dir():
        pytest.skip("../shared/data/tiles/nct-crc-he is not present")
    out = tmp_path / "run"
    done = subprocess.run(
        _command(manifest, out, "--steps", "4", "--eval-folder", str(NCT), "--eval-every", "2"),
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = _lines(out)
    assert [m["step"] for m in lines if "loss" in m] == [1, 2, 3, 4]
    evals = [m for m in lines if "eval" in m]
    assert [m["step"] for m in evals] == [2, 4]
    for m in evals:
        assert 0.0 <= m["eval"]["knn_accuracy"] <= 1.0
        assert 0.0 <= m["eval"]["linear_probe_accuracy"] <= 1.0
    assert lines[-1] == {"event": "finished", "step": 4}
    step = lines[0]
    assert step["total_steps"] == 4 and step["eta_s"] >= 0 and step["images_per_s"] > 0
    info = json.loads((out / "run.json").read_text())
    assert info["tiles"] == pq.read_metadata(manifest).num_rows and info["device"] == "cpu"
    assert json.loads((out / "stain_stats.json").read_text())
    card = json.loads((out / "backbone.json").read_text())
    model = timm.create_model(card["model"], **card["timm_kwargs"])
    model.load_state_dict(load_file(out / "backbone.safetensors"), strict=True)
    assert card["step"] == 4


def _wait_for_steps(out: Path, n: int, proc, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (out / "metrics.jsonl").exists() and len(_steps(out)) >= n:
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    raise AssertionError("the trainer made no progress")


def test_sigterm_stops_with_a_checkpoint_and_resume_is_exact(manifest, tmp_path):
    steps = ["--steps", "8"]
    straight = tmp_path / "straight"
    done = subprocess.run(_command(manifest, straight, *steps), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

    out = tmp_path / "stopped"
    proc = subprocess.Popen(
        _command(manifest, out, *steps), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    _wait_for_steps(out, 2, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 10
    stopped_at = _lines(out)[-1]
    assert stopped_at["event"] == "stopped" and 2 <= stopped_at["step"] < 8
    latest = json.loads((out / "checkpoints" / "latest.json").read_text())
    assert latest["step"] == stopped_at["step"]
    assert json.loads((out / "backbone.json").read_text())["step"] == stopped_at["step"]

    # the stop file works as well: present from the start, nothing more is trained
    stop = tmp_path / "STOP"
    stop.touch()
    again = subprocess.run(_command(manifest, out, "--resume", "--stop-file", str(stop)),
                           capture_output=True, text=True)  # fmt: skip
    assert again.returncode == 10, again.stderr
    stop.unlink()
    resumed = subprocess.run(_command(manifest, out, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    got, want = _steps(out), _steps(straight)
    assert [m["step"] for m in got] == list(range(1, 9))
    assert [m["loss"] for m in got] == [m["loss"] for m in want]
    assert _lines(out)[-1] == {"event": "finished", "step": 8}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "no_such_field=1"], "unknown recipe fields"),
        (["--preset", "huge"], "unknown preset"),
        (["--set", "batch_size=0"], "positive"),
    ],
)
def test_bad_input_exits_2_with_a_message(manifest, tmp_path, extra, message):
    done = subprocess.run(_command(manifest, tmp_path / "r", *extra), capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 2 and message in done.stderr
    missing = subprocess.run(_command(tmp_path / "none.parquet", tmp_path / "r"),
                             capture_output=True, text=True)  # fmt: skip
    assert missing.returncode == 2 and "manifest not found" in missing.stderr


def test_rudolfv_train_takes_a_manifest(manifest, tmp_path):
    env = {**os.environ}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("rudolfv")), "train", "--help"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 0 and "--dataset" in done.stdout and "--manifest" in done.stdout


def test_grad_checkpointing_gives_the_same_step(manifest, tmp_path):
    recipe = cpu_smoke(local_crops_number=2)
    index = ManifestIndex.read(manifest)
    batch = StepBatches(index, StepSampler(index, 4, 0), _collate(recipe), 0)[0]
    plain = Trainer(recipe, None, tmp_path / "a")
    checkpointed = Trainer(recipe.replace(grad_checkpointing=True), None, tmp_path / "b")
    assert checkpointed.model.student["backbone"].grad_checkpointing
    a, b = plain.train_step(batch), checkpointed.train_step(batch)
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    for (name, p), q in zip(
        plain.model.student.named_parameters(), checkpointed.model.student.parameters(),
        strict=True,
    ):  # fmt: skip
        assert torch.allclose(p, q, atol=1e-6), name
    compiled = Trainer(recipe.replace(compile=True), None, tmp_path / "c")
    blocks = compiled.model.student["backbone"].blocks
    assert all(block._compiled_call_impl is not None for block in blocks)
    assert compiled.model.state_dict().keys() == plain.model.state_dict().keys()


def test_torchrun_two_processes_on_cpu(manifest, tmp_path):
    """Two ranks (gloo): gradients averaged, rank 0 alone writes one line per step."""
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", "-m", "trainer", "--manifest", str(manifest),
               "--out", str(out), "--no-progress", "--workers", "0", "--device", "cpu",
               "--steps", "3", "--batch-size", "4", *SMALL]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [m["step"] for m in _steps(out)] == [1, 2, 3]
    assert _lines(out)[-1] == {"event": "finished", "step": 3}
    assert json.loads((out / "run.json").read_text())["world_size"] == 2
    card = json.loads((out / "backbone.json").read_text())
    model = timm.create_model(card["model"], **card["timm_kwargs"])
    model.load_state_dict(load_file(out / "backbone.safetensors"), strict=True)
