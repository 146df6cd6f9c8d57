"""Checkpoints are atomic: a crash or a kill during a save leaves the previous one loadable."""

import os
import signal
import subprocess
import sys
import time

import pytest

mx = pytest.importorskip("mlx.core")

from rvtune.training.checkpoint import (  # noqa: E402
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)


def arrays(value, size=16):
    return {"a.lora_a": mx.full((size,), value), "a.lora_b": mx.full((size, 2), value)}


def test_save_load_and_keep_newest(tmp_path):
    for step in (1, 2, 3, 4):
        save_checkpoint(tmp_path, step, arrays(step), {"step": mx.array(step)},
                        {"rng": [0, step]}, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-0000003", "step-0000004"]
    path, adapters, optimizer, state = latest_checkpoint(tmp_path)
    assert state["step"] == 4 and state["rng"] == [0, 4]
    assert adapters["a.lora_a"].tolist()[0] == 4.0
    assert optimizer["step"].item() == 4


def test_crash_between_write_and_rename_keeps_previous(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, 1, arrays(1), {"m": mx.array(1.0)}, {"rng": [0, 1]})
    real = mx.save_safetensors

    def crash_on_optimizer(path, data, *args, **kwargs):
        if "optimizer" in str(path):
            raise OSError("disk full")
        return real(path, data, *args, **kwargs)

    monkeypatch.setattr(mx, "save_safetensors", crash_on_optimizer)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path, 2, arrays(2), {"m": mx.array(2.0)}, {"rng": [0, 2]})
    monkeypatch.undo()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-0000001"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    _path, adapters, _opt, state = latest_checkpoint(tmp_path)
    assert state["step"] == 1 and adapters["a.lora_a"].tolist()[0] == 1.0


WRITER = """
import sys
import mlx.core as mx
from rvtune.training.checkpoint import save_checkpoint
root = sys.argv[1]
big = {"w.lora_a": mx.ones((4_000_000,)), "w.lora_b": mx.ones((4_000_000,))}
save_checkpoint(root, 1, big, {"m": mx.zeros((4_000_000,))}, {"rng": [0, 1]}, keep=100)
print("first", flush=True)
step = 2
while True:
    save_checkpoint(root, step, big, {"m": mx.zeros((4_000_000,))}, {"rng": [0, step]},
                    keep=100)
    step += 1
"""


@pytest.mark.slow
def test_kill_during_save_leaves_a_loadable_checkpoint(tmp_path):
    """A process killed (SIGKILL) at a random moment of repeated saves."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "first"
        time.sleep(1.3)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    found = latest_checkpoint(tmp_path)
    assert found is not None
    path, adapters, _opt, state = found
    assert adapters["w.lora_a"].shape == (4_000_000,)
    for complete in list_checkpoints(tmp_path):  # every visible checkpoint is whole
        load_checkpoint(complete)
    save_checkpoint(tmp_path, state["step"] + 100, arrays(0), {"m": mx.array(0.0)},
                    {"rng": [0, 0]}, keep=100)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], \
        "the next save clears what a killed save left behind"
