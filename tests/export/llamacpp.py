"""Run the real llama.cpp on exported GGUF files (tools built by build_llamacpp.sh).

Where the tools are: ``$RVTUNE_LLAMACPP_BIN``, else the cache build_llamacpp.sh fills
(``~/.cache/rvtune-llamacpp/pydist-*/bin``), else ``llama-completion`` on ``PATH``. Tests
that need them skip with the command that builds them when none is found."""

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

BUILD = "bash tests/export/build_llamacpp.sh"


def find_bin() -> Path | None:
    """The directory holding llama-completion, llama-tokenize and llama-logits, or None."""
    candidates = []
    if os.environ.get("RVTUNE_LLAMACPP_BIN"):
        candidates.append(Path(os.environ["RVTUNE_LLAMACPP_BIN"]))
    root = Path(os.environ.get("RVTUNE_LLAMACPP_CACHE")
                or Path.home() / ".cache" / "rvtune-llamacpp")
    candidates += sorted(root.glob("pydist-*/bin"), reverse=True)
    on_path = shutil.which("llama-completion")
    if on_path:
        candidates.append(Path(on_path).parent)
    for path in candidates:
        if all((path / tool).exists() for tool in ("llama-completion", "llama-tokenize",
                                                   "llama-logits")):
            return path
    return None


@pytest.fixture(scope="session")
def llama_bin():
    """The llama.cpp tools directory (skips when llama.cpp is not built)."""
    path = find_bin()
    if path is None:
        pytest.skip(f"llama.cpp tools not built; run `{BUILD}` (.ci/run does)")
    return path


def logits(bin_dir: Path, model, text: str, lora=None, predict: int = 0):
    """``(token ids, logits[n, vocab])`` from llama.cpp for ``text`` (BOS as the GGUF says,
    special tokens parsed), optionally with a LoRA adapter GGUF; with ``predict``, also the
    greedy continuation's ids: ``(ids, logits, generated)``."""
    import numpy as np

    out = Path(model).with_suffix(".logits.bin")
    args = [bin_dir / "llama-logits", model, out, text, lora or "-", predict]
    proc = subprocess.run(list(map(str, args)), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = out.read_bytes()
    out.unlink()
    n, vocab, n_gen = struct.unpack("<iii", data[:12])
    ids = [int(i) for i in np.frombuffer(data, dtype=np.int32, count=n, offset=12)]
    generated = [int(i) for i in np.frombuffer(data, dtype=np.int32, count=n_gen,
                                               offset=12 + 4 * n)]
    values = np.frombuffer(data, dtype=np.float32,
                           offset=12 + 4 * (n + n_gen)).reshape(n, vocab)
    assert np.isfinite(values).all(), f"llama.cpp computed NaN/inf logits for {model}"
    return (ids, values, generated) if predict else (ids, values)


def tokenize(bin_dir: Path, model, text: str) -> list:
    """Token ids from ``llama-tokenize`` (the documented command)."""
    proc = subprocess.run([str(bin_dir / "llama-tokenize"), "-m", str(model), "-p", text,
                           "--ids", "--log-disable"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("[")][-1]
    return [int(x) for x in line.strip("[]").split(",") if x.strip()]


def complete(bin_dir: Path, args: list) -> str:
    """What ``llama-completion ARGS`` prints (greedy when the args say --temp 0)."""
    proc = subprocess.run([str(bin_dir / "llama-completion"), *map(str, args)],
                          capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.decode("utf-8", errors="replace")
