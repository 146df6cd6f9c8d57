"""Inference with a trained adapter: load base + adapter of any kind, render the prompt the
way the run trained, generate.

>>> import rvtune
>>> model, tokenizer = rvtune.load("runs/latest")                      # a run directory
>>> model, tokenizer = rvtune.load("mistralai/Mistral-7B-Instruct-v0.3",
...                                adapter_path="runs/latest/adapters.npz")
>>> from mlx_lm import generate
>>> generate(model, tokenizer, prompt="...")

``adapter_path`` may be an ``adapters.npz`` file, an mlx-lm adapter directory, a Hugging
Face PEFT adapter directory or a run directory. MLX is imported only when a function runs.
"""

from dataclasses import dataclass
from pathlib import Path

from rvtune.core.errors import UsageError


def load(model=None, adapter_path=None, *, run=None, bits: int | None = None,
         checkpoint: str | None = None):
    """Load a model and an optional adapter; returns ``(model, tokenizer)`` for
    ``mlx_lm.generate``.

    ``model`` is a local directory or a cached Hugging Face id; it may also be a run
    directory (then its adapter and base model are used). ``adapter_path`` is an
    ``adapters.npz``, an MLX or PEFT adapter directory, or a run directory; without
    ``model`` the base model the adapter names is used. For a run, the base is quantized
    as the trainer did (``bits`` overrides that; 0 loads it unquantized). ``checkpoint``
    picks a run's adapter: ``"best"`` (the default when the run kept one), ``"last"`` or
    a step number.
    """
    loaded = load_loaded(model, adapter_path, run=run, bits=bits, checkpoint=checkpoint)
    return loaded.model, loaded.tokenizer


def load_loaded(model=None, adapter_path=None, *, run=None, bits: int | None = None,
                checkpoint: str | None = None):
    """Like :func:`load`, but returns the full :class:`rvtune.export.loading.Loaded`."""
    from rvtune.export.loading import is_run_dir, load_with_adapter

    if model is not None and run is None and adapter_path is None and \
            is_run_dir(Path(model).expanduser()):
        run, model = model, None
    if model is None and adapter_path is None and run is None:
        raise UsageError("rvtune.load: give a model, an adapter_path or a run")
    return load_with_adapter(model=model, adapter_path=adapter_path, run=run, bits=bits,
                             checkpoint=checkpoint)


@dataclass
class PromptFormat:
    """How prompts are rendered for generation: the run's formatter, stop strings, BOS."""

    formatter: object
    stop_strings: tuple
    has_bos: bool

    def render(self, prompt: str) -> str:
        return self.formatter.render_prompt(prompt)

    def render_turn(self, history: list, prompt: str) -> str | None:
        """The text to complete for ``prompt`` after the ``history`` turns
        (``[{"role", "content"}]``), laid out as the formatter lays out conversations; None
        when the formatter renders single prompts only."""
        from rvtune.core.errors import RvtuneError

        if not history:
            return self.render(prompt)
        messages = [*history, {"role": "user", "content": prompt},
                    {"role": "assistant", "content": ""}]
        try:
            pieces = self.formatter.render_messages(messages)
        except (RvtuneError, NotImplementedError):
            return None
        last = max(i for i, (_, trained) in enumerate(pieces) if trained)
        return "".join(text for text, _ in pieces[:last])  # up to the answer's start

    def multi_turn(self) -> bool:
        probe = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
        return self.render_turn(probe, "c") is not None


def prompt_format(run=None, adapter=None, formatter: str | None = None,
                  system: str | None = None, instruction_template: str | None = None,
                  tokenizer: str | None = None, raw: bool = False) -> PromptFormat:
    """The prompt layout to generate with: the run's (``data/manifest.json``), else the one
    recorded in the adapter, unless overridden; with neither, ``formatter`` (default
    ``chatml``). ``raw`` sends the text as it is."""
    from rvtune.core.plugins import registry
    from rvtune.formats import FormatOptions, Formatter

    if raw:
        class Raw(Formatter):
            """The prompt as it is."""

            name = "raw"

            def render_prompt(self, prompt):
                return prompt

        return PromptFormat(Raw(), (), False)
    recorded = (adapter.extra.get("rvtune") or {}) if adapter is not None else {}
    manifest = run.manifest if run is not None else {}
    settings = dict(manifest.get("formatter") or recorded.get("formatter") or {})
    stops = manifest.get("stop_strings", recorded.get("stop_strings"))
    name = formatter or settings.get("name") or "chatml"
    if formatter and formatter != settings.get("name"):
        settings, stops = {}, None
    options = FormatOptions(
        system=system if system is not None else settings.get("system"),
        instruction_template=(instruction_template if instruction_template is not None
                              else settings.get("instruction_template")),
        tokenizer=tokenizer or settings.get("tokenizer"),
    )
    cls = registry().get("formatter", name, option="--formatter")
    instance = cls(options)
    stops = tuple(instance.stop_strings if stops is None else stops)
    return PromptFormat(instance, stops, bool(getattr(instance, "has_bos", False)))


def check_sampling(max_tokens: int, temp: float, top_p: float) -> None:
    """Refuse sampling settings that cannot work (commands call it before loading a model)."""
    if max_tokens < 1:
        raise UsageError(f"--max-tokens {max_tokens}: must be at least 1")
    if temp < 0:
        raise UsageError(f"--temp {temp}: must be 0 (greedy) or more")
    if not 0 < top_p <= 1:
        raise UsageError(f"--top-p {top_p}: must be above 0 and at most 1")


def generate(model, tokenizer, prompt_text: str, *, max_tokens: int = 256, temp: float = 0.0,
             top_p: float = 1.0, seed: int = 0, stop_strings=(), has_bos: bool = False,
             on_text=None, stopped=None) -> str:
    """Complete ``prompt_text`` (already rendered); stops at EOS, ``max_tokens``, the first
    stop string (cut off) or when ``stopped()`` turns true (checked after every token).
    ``on_text(piece)`` receives text as it is produced."""
    import mlx.core as mx
    from mlx_lm.generate import stream_generate
    from mlx_lm.sample_utils import make_sampler

    check_sampling(max_tokens, temp, top_p)
    mx.random.seed(seed)
    stops = [s for s in stop_strings if s]
    hf = getattr(tokenizer, "_tokenizer", tokenizer)
    vocab = hf.get_vocab() if hasattr(hf, "get_vocab") else {}
    stop_ids = {vocab[s] for s in stops if s in vocab}
    ids = list(tokenizer.encode(prompt_text, add_special_tokens=not has_bos))
    sampler = make_sampler(temp=temp, top_p=top_p if top_p < 1 else 0.0)
    text, shown = "", 0
    # Text is only shown once no stop string can still start inside it.
    hold = max((len(s) for s in stops), default=1) - 1
    for response in stream_generate(model, tokenizer, mx.array(ids), max_tokens=max_tokens,
                                    sampler=sampler):
        if response.token in stop_ids or (stopped is not None and stopped()):
            break
        text += response.text
        cut = min((text.index(s) for s in stops if s in text), default=None)
        if cut is not None:
            text = text[:cut]
            break
        if on_text and len(text) - hold > shown:
            on_text(text[shown:len(text) - hold])
            shown = len(text) - hold
    if on_text and len(text) > shown:
        on_text(text[shown:])
    return text
