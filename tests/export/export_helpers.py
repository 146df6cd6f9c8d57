"""Helpers and fixtures shared by the export tests (import the fixtures into a test module).

Not a conftest.py: a second module named ``conftest`` would shadow tests/conftest.py for the
top-level test files that ``from conftest import ...``."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

#: Fixed inputs for every logits comparison.
TEXTS = ("<|im_start|>user\nAdd a0 and a1 into a2.<|im_end|>\n<|im_start|>assistant\n",
         "User: load a word from 8(sp) into t0\nAssistant: lw t0, 8(sp)")


def cache_dir() -> str:
    """The rvtune cache the test sessions share (the tiny model is built there once)."""
    from rvtune.training.tiny import TINY_VERSION

    return os.environ.get("RVTUNE_TEST_CACHE") or str(
        Path(tempfile.gettempdir()) / f"rvtune-test-cache-v{TINY_VERSION}")


def run_cli(*args, env=None, cwd=None, check=False, input=None, timeout=600):
    """Run the real CLI in a subprocess, offline, with the shared test cache."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                "RVTUNE_CACHE": cache_dir(), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "rvtune", *map(str, args)],
                          capture_output=True, text=True, env=full_env, cwd=cwd,
                          input=input, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"rvtune {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


def logits_of(model, tokenizer, texts=TEXTS):
    from rvtune.export.fused import logits

    return logits(model, [list(tokenizer.encode(t)) for t in texts])


def max_diff(a, b) -> float:
    import numpy as np

    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def train_in_memory(model_path: Path, bits: int, steps: int = 12, rank: int = 8,
                    num_layers: int = -1, seed: int = 0):
    """A few real Adam steps of LoRA on the tiny model, with the trainer's own building blocks.

    Returns ``(model, tokenizer, info, quant)``; ``model`` carries the trained LoRA layers.
    """
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim

    from rvtune.core.jobs import TrainConfig
    from rvtune.training.lora import apply_lora
    from rvtune.training.model import load_base

    mx.random.seed(seed)
    model, tokenizer, _config, quant = load_base(model_path, bits, 64)
    config = TrainConfig(model=str(model_path), bits=bits, rank=rank, alpha=2.0 * rank,
                         num_layers=num_layers)
    info = apply_lora(model, config)
    rows = [f"<|im_start|>user\nInstruction {i}<|im_end|>\n<|im_start|>assistant\n"
            f"addi a{i % 8}, a{(i + 1) % 8}, {i}<|im_end|>" for i in range(8)]
    ids = [list(tokenizer.encode(r)) for r in rows]
    width = min(len(x) for x in ids)
    batch = mx.array([x[:width] for x in ids])

    def loss_fn(m):
        out = m(batch[:, :-1])
        return nn.losses.cross_entropy(out, batch[:, 1:], reduction="mean")

    optimizer = optim.Adam(learning_rate=2e-2)
    step = nn.value_and_grad(model, loss_fn)
    for _ in range(steps):
        _loss, grads = step(model)
        optimizer.update(model, grads)
        mx.eval(model.parameters(), optimizer.state)
    model.eval()
    return model, tokenizer, info, quant


def save_like_trainer(model, info, quant, model_path: Path, run_dir: Path,
                      formatter=None) -> Path:
    """Write adapters/ and adapters.npz the way rvtune/training/loop.py does."""
    from mlx.utils import tree_flatten

    from rvtune.training.adapters import adapter_config, save_adapter_dir, save_npz

    weights = dict(tree_flatten(model.trainable_parameters()))
    extra = {"rvtune": {
        "base_model": str(model_path), "alpha": info.scale * info.rank, "step": 1,
        "target_modules": list(info.keys),
        "quantize_on_load": ({"bits": quant.bits, "group_size": quant.group_size}
                             if quant.on_load else None),
        "formatter": formatter or {"name": "chatml"}, "stop_strings": ["<|im_end|>"],
        "has_bos": False}}
    config = adapter_config(info, str(model_path), len(info.layers), extra)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_adapter_dir(run_dir / "adapters", weights, config)
    save_npz(run_dir / "adapters.npz", weights, config)
    return run_dir


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def tiny_model():
    """The tiny preset's model (rvtune.training.tiny), built once into a shared test cache."""
    from rvtune.training.tiny import tiny_model_path

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVTUNE_CACHE", cache_dir())
        return tiny_model_path()


@pytest.fixture(scope="session")
def trained_4bit(tiny_model, tmp_path_factory):
    """(in-memory trained QLoRA model, tokenizer, its logits, dir with adapters/ + npz)."""
    model, tokenizer, info, quant = train_in_memory(tiny_model, bits=4)
    out = save_like_trainer(model, info, quant, tiny_model, tmp_path_factory.mktemp("q4"))
    return model, tokenizer, logits_of(model, tokenizer), out


@pytest.fixture(scope="session")
def trained_full(tiny_model, tmp_path_factory):
    """The same on the unquantized base (bits 0), adapters on the last block only."""
    model, tokenizer, info, quant = train_in_memory(tiny_model, bits=0, num_layers=1)
    out = save_like_trainer(model, info, quant, tiny_model, tmp_path_factory.mktemp("f32"))
    return model, tokenizer, logits_of(model, tokenizer), out


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory):
    """A real run directory from `rvtune run --preset tiny` (short)."""
    root = tmp_path_factory.mktemp("cli")
    run_cli("run", "--preset", "tiny", "--iters", "20", "--dataset-size", "200",
            "--run-dir", root / "run", "--sample-tokens", "0",
            "--instruction-template", "Write RISC-V for: {description}",
            cwd=root, check=True)
    return root / "run"
