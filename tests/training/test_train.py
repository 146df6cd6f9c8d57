"""Real MLX training on the tiny model: loss falls, artefacts load, resume is exact."""

import json
import os
import signal

import pytest

from rvtune.core.errors import RvtuneError, UsageError
from rvtune.core.jobs import TrainCallback

pytestmark = pytest.mark.slow


def train(job):
    from rvtune.plugins.mlx_trainer import MlxTrainer

    return MlxTrainer().train(job)


def records(run_dir, kind="train"):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == kind]


def test_loss_falls_and_artefacts_load(make_job, tmp_path):
    import mlx_lm
    import numpy as np

    job = make_job(iters=60, steps_per_report=10, steps_per_eval=30, save_every=30,
                   lr_schedule="cosine", warmup=5)
    result = train(job)
    run = job.run_dir
    assert not result.interrupted and result.steps == 60
    train_losses = [r["loss"] for r in records(run)]
    val_losses = [r["val_loss"] for r in records(run, "val")]
    assert [r["step"] for r in records(run, "val")] == [0, 30, 60]
    assert train_losses[-1] < train_losses[0] - 0.5
    assert val_losses[-1] < val_losses[0] - 0.5
    assert {"tokens_per_second", "peak_memory_gb", "learning_rate", "eta_seconds"} <= set(
        records(run)[0])
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    config = json.loads((run / "adapters" / "adapter_config.json").read_text())
    assert config["lora_parameters"]["scale"] == 1.0
    assert config["lora_parameters"]["rank"] == 16
    assert len(config["lora_parameters"]["keys"]) == 7
    model, _tok = mlx_lm.load(config["model"], adapter_path=str(run / "adapters"))
    assert "lora_a" in model.layers[0].mlp.down_proj
    with np.load(run / "adapters.npz", allow_pickle=False) as data:
        names = [n for n in data.files if not n.startswith("__")]
        assert len(names) == 2 * 7 * len(model.layers)
    assert any("Trainable parameters:" in line for line in job.lines)
    assert any("mlp.down_proj x2" in line for line in job.lines)


class StopAt(TrainCallback):
    """Press Ctrl-C (a real SIGINT to this process) once step ``at`` has been reported."""

    def __init__(self, at):
        self.at = at

    def on_train_report(self, info):
        if info["step"] == self.at:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_then_resume_reproduces_the_uninterrupted_losses(make_job, tmp_path):
    options = dict(iters=16, save_every=5, steps_per_eval=8, dropout=0.1, grad_accumulation=2,
                   lr_schedule="cosine", warmup=2)
    straight = make_job(run_dir=tmp_path / "straight", **options)
    train(straight)

    first = make_job(run_dir=tmp_path / "resumed", callbacks=[StopAt(8)], **options)
    result = train(first)
    assert result.interrupted and result.steps == 8
    assert result.checkpoint.name == "step-0000008"
    assert not (tmp_path / "resumed" / "adapters").exists()
    assert any("Ctrl-C" in line for line in first.lines)
    second = make_job(run_dir=tmp_path / "resumed", resume=True, **options)
    result = train(second)
    assert not result.interrupted and result.steps == 16

    a = {r["step"]: r["loss"] for r in records(tmp_path / "straight")}
    b = {r["step"]: r["loss"] for r in records(tmp_path / "resumed")}
    assert sorted(a) == sorted(b) == list(range(1, 17))
    for step in a:
        assert b[step] == pytest.approx(a[step], abs=1e-4), f"step {step}"
    va = [r["val_loss"] for r in records(tmp_path / "straight", "val")]
    vb = [r["val_loss"] for r in records(tmp_path / "resumed", "val")]
    assert vb == pytest.approx(va, abs=1e-4)


def test_resume_without_checkpoint_fails(make_job, tmp_path):
    with pytest.raises(UsageError, match="no checkpoint"):
        train(make_job(run_dir=tmp_path / "empty", resume=True))


def test_batch_larger_than_training_set_fails(make_job):
    with pytest.raises(UsageError, match="--batch-size 5000: larger than the training set"):
        train(make_job(batch_size=5000))


def test_memory_estimate_stops_early_unless_forced(make_job, monkeypatch, tmp_path):
    from rvtune.training import memory

    monkeypatch.setattr(memory, "available_memory", lambda: (1_000_000.0, "test"))
    with pytest.raises(RvtuneError) as err:
        train(make_job(run_dir=tmp_path / "a"))
    message = str(err.value)
    assert "exceeds the" in message and "--force" in message and "\n" not in message
    result = train(make_job(run_dir=tmp_path / "b", force=True, iters=2, save_every=2))
    assert result.steps == 2


def test_grad_checkpoint_gives_the_same_losses(make_job, tmp_path):
    plain = make_job(run_dir=tmp_path / "plain", iters=4, save_every=4)
    ckpt = make_job(run_dir=tmp_path / "ckpt", iters=4, save_every=4, grad_checkpoint=True)
    train(plain)
    train(ckpt)
    a = [r["loss"] for r in records(tmp_path / "plain")]
    b = [r["loss"] for r in records(tmp_path / "ckpt")]
    assert b == pytest.approx(a, abs=1e-4)


def test_plain_lora_without_quantization(make_job, tmp_path):
    result = train(make_job(bits=0, iters=3, save_every=3, target_modules=("q_proj", "v_proj")))
    config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert config["rvtune"]["quantize_on_load"] is None
    assert config["lora_parameters"]["keys"] == ["self_attn.q_proj", "self_attn.v_proj"]
