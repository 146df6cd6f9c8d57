"""Metrics loggers: a third-party logger through the register_loggers hook, TensorBoard event
files read back with tensorboard's own reader, W&B offline, and one-line errors."""

import json

import pytest

import rvtune
from rvtune.core.errors import MissingDependencyError, UsageError
from rvtune.core.plugins import register_plugin, unregister_plugin


class MemoryPlugin:
    """A third-party-style plugin: a logger that keeps what it is sent."""

    seen = []
    closed = []

    class MemoryLogger:
        """Keeps every record in a list."""

        name = "memory"

        def __init__(self, run_dir, config):
            self.run_dir = run_dir
            assert config["log_to"] == ["tensorboard", "memory"]

        def log(self, record):
            MemoryPlugin.seen.append(record)

        def close(self):
            MemoryPlugin.closed.append(self.run_dir)

    class NeedsMissing:
        """Needs a package that is not installed."""

        name = "needs-missing"
        requires = ("rvtune_no_such_package", "pip install rvtune-no-such-package")

    @staticmethod
    @rvtune.hookimpl
    def register_loggers(register):
        register(MemoryPlugin.MemoryLogger)
        register(MemoryPlugin.NeedsMissing)


@pytest.fixture
def memory_plugin():
    register_plugin(MemoryPlugin, "memory-plugin")
    MemoryPlugin.seen.clear()
    MemoryPlugin.closed.clear()
    yield MemoryPlugin
    unregister_plugin("memory-plugin")


def metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_hook_register_loggers(memory_plugin, make_job):
    """A plugin's logger and TensorBoard get every record of metrics.jsonl; TensorBoard's
    own reader finds the same values in the event files."""
    pytest.importorskip("tensorboardX")
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    from rvtune.plugins.mlx_trainer import MlxTrainer

    job = make_job(iters=6, steps_per_eval=3, save_every=6, log_to=("tensorboard", "memory"))
    MlxTrainer().train(job)
    records = metrics(job.run_dir)
    assert len(records) == 9  # 6 train reports, validations at 0, 3, 6
    assert MemoryPlugin.seen == records and MemoryPlugin.closed == [job.run_dir]

    reader = event_accumulator.EventAccumulator(str(job.run_dir / "tensorboard"))
    reader.Reload()
    assert {"train/loss", "train/learning_rate", "val/val_loss"} <= set(reader.Tags()["scalars"])
    for tag, kind, key in (("train/loss", "train", "loss"), ("val/val_loss", "val", "val_loss")):
        events = reader.Scalars(tag)
        want = [(r["step"], r[key]) for r in records if r["type"] == kind]
        assert [e.step for e in events] == [s for s, _ in want]
        assert [e.value for e in events] == pytest.approx([v for _, v in want], rel=1e-6)


@pytest.mark.slow
def test_wandb_offline_writes_a_run_in_the_run_directory(make_job, monkeypatch):
    pytest.importorskip("wandb")
    from rvtune.plugins.mlx_trainer import MlxTrainer

    monkeypatch.setenv("WANDB_SILENT", "true")
    job = make_job(iters=2, steps_per_eval=2, save_every=2, log_to=("wandb",))
    MlxTrainer().train(job)
    runs = list((job.run_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    files = list(runs[0].glob("run-*.wandb"))
    assert files and files[0].stat().st_size > 0


def test_unknown_or_uninstallable_logger_fails_before_training(memory_plugin):
    from rvtune.training.loggers import check_loggers

    with pytest.raises(UsageError, match=r"unknown metrics logger 'tensorbord' \(option "
                                         r"--log-to\); available: memory, needs-missing, "
                                         r"tensorboard, wandb"):
        check_loggers(["tensorbord"])
    with pytest.raises(MissingDependencyError, match="--log-to needs-missing needs the "
                                                     "rvtune_no_such_package package: pip "
                                                     "install rvtune-no-such-package"):
        check_loggers(["memory", "needs-missing"])


def test_log_to_names_are_split_on_commas():
    from rvtune.core.jobs import TrainConfig

    config = TrainConfig.from_dict({"log_to": "tensorboard, wandb"})
    assert config.log_to == ("tensorboard", "wandb")
    assert TrainConfig.from_dict({"log_to": None}).log_to == ()


@pytest.mark.slow
def test_example_plugin_logger_through_the_cli(tiny_model, tmp_path):
    """The example third-party package, pip-installed for real, logs a run as CSV."""
    import csv
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site),
                    str(root / "examples" / "rvtune-alpaca-formatter")],
                   check=True, capture_output=True, text=True)
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1",
           "RVTUNE_CACHE": str(Path(tiny_model).parent)}
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "rvtune", "run", "--preset", "tiny",
                           "--dataset-size", "80", "--iters", "4", "--steps-per-report", "2",
                           "--steps-per-eval", "2", "--sample-tokens", "0", "--log-to", "csv",
                           "--run-dir", str(run)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    want = metrics(run)
    assert [(r["type"], int(r["step"])) for r in rows] == [(m["type"], m["step"]) for m in want]
    first = next(i for i, m in enumerate(want) if m["type"] == "train")
    assert float(rows[first]["loss"]) == pytest.approx(want[first]["loss"])
