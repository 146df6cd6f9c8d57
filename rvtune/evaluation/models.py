"""The models an evaluation compares: the fine-tuned one and its base, loaded by
``rvtune.inference`` one at a time (never both in memory), prompted as the run was trained."""

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass
class Candidate:
    """A model to generate with: what it is, and how to load it when its turn comes."""

    label: str
    model: str
    adapter: str | None
    loader: Callable = field(repr=False)
    prompt_format: object = field(repr=False)
    #: Seconds spent loading and generating, after :meth:`generate`.
    timing: dict = field(default_factory=dict)
    _held: tuple | None = field(default=None, repr=False)

    @property
    def has_adapter(self) -> bool:
        return self.adapter is not None

    @contextmanager
    def kept_loaded(self):
        """Keep the model loaded across several :meth:`generate` calls (checked decoding's
        rounds); released on exit."""
        self._held = self.loader()
        try:
            yield self
        finally:
            self._held = None
            _free_memory()

    def generate(self, examples, *, batch_size: int, max_tokens: int, temperature: float,
                 seed: int, progress=None) -> list[str]:
        """Answer every example's prompt, batched; the model is released afterwards unless
        :meth:`kept_loaded` holds it."""
        from .generate import generate_batch

        fmt = self.prompt_format
        prompts = [fmt.render(e.prompt) for e in examples]
        started = time.perf_counter()
        model, tokenizer = self._held or self.loader()
        loaded = time.perf_counter()
        try:
            texts = generate_batch(model, tokenizer, prompts, batch_size=batch_size,
                                   max_tokens=max_tokens, temperature=temperature, seed=seed,
                                   stop_strings=fmt.stop_strings, has_bos=fmt.has_bos,
                                   progress=progress)
            self.timing = {"load_s": round(loaded - started, 3),
                           "generation_s": round(time.perf_counter() - loaded, 3)}
            return texts
        finally:
            del model, tokenizer
            if self._held is None:
                _free_memory()


def _free_memory() -> None:
    import gc

    import mlx.core as mx

    gc.collect()
    mx.clear_cache()


def load_models(config, log) -> dict:
    """``{"tuned": Candidate, "base": () -> Candidate}`` for an :class:`EvalConfig`.

    The fine-tuned candidate is the model with its adapter (a run's, or ``--adapter``); the
    base candidate is the same base model, quantized the same way, without the adapter.
    """
    from rvtune.export.adapter import read_adapter
    from rvtune.export.loading import base_settings, load_base, read_run, run_of_adapter
    from rvtune.inference import load_loaded, prompt_format

    run = read_run(config.run, getattr(config, "checkpoint", None)) if config.run else None
    if run is None and config.adapter:
        run = run_of_adapter(config.adapter)
    fmt = prompt_format(run=run, formatter=config.formatter, system=config.system,
                        instruction_template=config.instruction_template)
    adapter_path = config.adapter or (run.adapter_path if run else None)
    adapter = read_adapter(adapter_path) if adapter_path is not None else None
    model_name, bits, group_size = base_settings(adapter, run, config.model)
    shown_model = Path(model_name).name if Path(model_name).exists() else model_name

    def load_tuned():
        log(f"Loading {model_name}" + (f" with adapter {adapter_path}" if adapter_path else "")
            + " ...")
        loaded = load_loaded(config.model, config.adapter, run=run)
        return loaded.model, loaded.tokenizer

    def load_untuned():
        log(f"Loading the base model {model_name} without adapter ...")
        loaded = load_base(model_name, bits, group_size)
        return loaded.model, loaded.tokenizer

    if adapter_path is None:
        label = shown_model
    elif run is not None and not config.adapter:
        label = f"run {config.run}"
    else:
        label = f"{shown_model} + {adapter_path}"
    tuned = Candidate(label, model_name, str(adapter_path) if adapter_path else None,
                      load_tuned, fmt)
    return {"tuned": tuned,
            "base": lambda: Candidate(f"base {shown_model}", model_name, None, load_untuned,
                                      fmt)}
