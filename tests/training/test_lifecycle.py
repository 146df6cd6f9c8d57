"""Epochs, the best adapter and early stopping, with real MLX training on the tiny model."""

import json

import pytest

from rvtune.core.errors import UsageError
from rvtune.core.jobs import TrainCallback



def prepare_data(out, size, valid_fraction):
    from rvtune.core.datasets import DatasetSpec
    from rvtune.core.prepare import PrepareConfig, prepare

    prepare(PrepareConfig(dataset=DatasetSpec(source="riscv", size=size), out=str(out),
                          valid_fraction=valid_fraction))
    return out


def train(job):
    from rvtune.plugins.mlx_trainer import MlxTrainer

    return MlxTrainer().train(job)


def records(run_dir, kind="train"):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == kind]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """30 training rows (8 batches of 4 per epoch) and 10 validation rows."""
    return prepare_data(tmp_path_factory.mktemp("small") / "data", size=40, valid_fraction=0.25)


def test_each_epoch_regroups_every_row_in_a_fresh_order():
    from rvtune.training.data import Batches, Encoded, padded_width

    data = Encoded(ids=[[1] * (3 + i % 40) for i in range(50)], offsets=[1] * 50)
    batches = Batches(data, 4, seed=3, max_seq_length=64)
    assert len(batches) == 13
    epochs = [batches.chunks_of(e) for e in range(3)]
    for chunks in epochs:
        assert sorted({i for chunk in chunks for i in chunk}) == list(range(50))
        widths = [padded_width(len(data.ids[i]), 64) for chunk in chunks for i in chunk]
        assert widths[:50] == sorted(widths[:50])  # grouped by padded length
    assert epochs[0] != epochs[1] != epochs[2]
    assert list(batches.order(0)) != list(batches.order(1))
    assert Batches(data, 4, seed=3, max_seq_length=64).chunks_of(1) == epochs[1]


class Crash(TrainCallback):
    """The process dies at step ``at`` (after it was reported) without saving anything."""

    def __init__(self, at):
        self.at = at

    def on_train_report(self, info):
        if info["step"] == self.at:
            raise SystemExit("killed")


@pytest.mark.slow
def test_killed_mid_epoch_then_resumed_repeats_the_uninterrupted_losses(make_job, small_data,
                                                                        tmp_path):
    options = dict(data_dir=small_data, epochs=2, iters=600, save_every=5, steps_per_eval=4,
                   dropout=0.1, lr_schedule="cosine", warmup=2)
    straight = make_job(run_dir=tmp_path / "straight", **options)
    result = train(straight)
    assert result.steps == 16 and result.epochs == 2.0
    assert any("--epochs 2: 8 steps per epoch (30 rows, batch 4) -> 16 steps" in line
               for line in straight.lines)
    assert any(line.startswith("epoch 2/2 step 3/8 (step 11/16)") for line in straight.lines)
    assert records(tmp_path / "straight")[10]["epoch"] == pytest.approx(11 / 8)

    first = make_job(run_dir=tmp_path / "resumed", callbacks=[Crash(13)], **options)
    with pytest.raises(SystemExit):
        train(first)  # the last checkpoint is step 10: epoch 2, batch 2 of 8
    second = make_job(run_dir=tmp_path / "resumed", resume=True, **options)
    result = train(second)
    assert any("Resuming from" in line and "step-0000010" in line for line in second.lines)
    assert result.steps == 16 and not result.interrupted

    a = {r["step"]: r["loss"] for r in records(tmp_path / "straight")}
    b = {r["step"]: r["loss"] for r in records(tmp_path / "resumed")}
    assert sorted(b) == list(range(1, 17))
    for step in a:
        assert b[step] == pytest.approx(a[step], abs=1e-5), f"step {step}"
    assert result.best_step == train_best(tmp_path / "straight")


def train_best(run_dir):
    vals = records(run_dir, "val")
    return min(vals, key=lambda r: (r["val_loss"], r["step"]))["step"]


@pytest.mark.slow
def test_best_adapter_is_kept_and_early_stop_says_why(make_job, small_data, tmp_path):
    import numpy as np

    from rvtune.export.adapter import read_adapter
    from rvtune.export.loading import RunInfo

    job = make_job(data_dir=small_data, epochs=8, learning_rate=1e-2, steps_per_eval=3,
                   val_batches=-1, save_every=3, keep_checkpoints=100, early_stop=2)
    result = train(job)
    run = job.run_dir
    vals = records(run, "val")
    best = min(vals, key=lambda r: r["val_loss"])
    assert result.stopped_early and result.steps < 64
    assert result.best_step == best["step"] and result.best_score == best["val_loss"]
    assert [r["step"] for r in vals if r["step"] > best["step"]] == [
        best["step"] + 3, best["step"] + 6]
    stop = [line for line in job.lines if line.startswith("Early stop")]
    assert stop == [f"Early stop at step {result.steps}: val_loss has not improved for 2 "
                    f"validations (--early-stop 2); best {best['val_loss']:.4f} at step "
                    f"{best['step']}"]

    kept = read_adapter(run / "best-adapters")
    assert kept.extra["rvtune"]["step"] == best["step"]
    at_step = read_adapter(run / "checkpoints" / f"step-{best['step']:07d}")
    last = read_adapter(run / "adapters")
    for name, value in kept.weights.items():
        np.testing.assert_array_equal(value, at_step.weights[name])
    assert any(not np.array_equal(v, last.weights[k]) for k, v in kept.weights.items())

    info = RunInfo(run)
    assert info.adapter_path == run / "best-adapters"
    info.checkpoint = "last"
    assert info.adapter_path == run / "adapters"
    info.checkpoint = str(best["step"])
    assert info.adapter_path.name == f"step-{best['step']:07d}"
    info.checkpoint = "1"
    with pytest.raises(UsageError, match="--checkpoint 1: run .* has no checkpoint of step 1; "
                                         "it has: 3, 6"):
        info.adapter_path


@pytest.mark.slow
def test_select_by_exact_scores_validation_answers_and_keeps_training_exact(make_job,
                                                                            small_data,
                                                                            tmp_path):
    import shutil

    if not shutil.which("llvm-mc"):
        pytest.skip("needs llvm-mc (the RISC-V assembler) for the riscv evaluator")
    plain = make_job(run_dir=tmp_path / "plain", data_dir=small_data, iters=8,
                     steps_per_eval=4, dropout=0.1)
    train(plain)
    job = make_job(run_dir=tmp_path / "exact", data_dir=small_data, iters=8,
                   steps_per_eval=4, dropout=0.1, select_by="exact")
    result = train(job)
    vals = records(job.run_dir, "val")
    assert [r["step"] for r in vals] == [0, 4, 8]
    assert all(0.0 <= r["exact"] <= 1.0 for r in vals)
    top = max(r["exact"] for r in vals)
    assert result.best_metric == "exact" and result.best_score == top
    assert result.best_step == next(r["step"] for r in vals if r["exact"] == top)
    # generating at each validation leaves the random state (dropout masks) untouched
    a = [r["loss"] for r in records(tmp_path / "plain")]
    b = [r["loss"] for r in records(job.run_dir)]
    assert b == pytest.approx(a, abs=1e-6)
