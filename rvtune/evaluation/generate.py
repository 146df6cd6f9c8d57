"""Batched greedy (or sampled) generation for many prompts, with a progress callback.

Built on mlx-lm's ``BatchGenerator`` (continuous batching: a finished sequence leaves the
batch and the next prompt joins), on a model and tokenizer from ``rvtune.inference``.
"""

from collections.abc import Callable, Sequence


def cut_at_stop(text: str, stop_strings: Sequence[str]) -> str:
    """``text`` up to the first stop string, if any occurs."""
    end = len(text)
    for stop in stop_strings:
        if stop:
            index = text.find(stop)
            if index != -1:
                end = min(end, index)
    return text[:end]


def _eos_ids(tokenizer) -> list[int]:
    ids = getattr(tokenizer, "eos_token_ids", None)
    if not ids:
        eos = getattr(tokenizer, "eos_token_id", None)
        ids = [eos] if eos is not None else []
    return sorted(ids)


def generate_batch(
    model,
    tokenizer,
    prompts: Sequence[str],
    *,
    batch_size: int = 8,
    max_tokens: int = 256,
    temperature: float = 0.0,
    seed: int = 0,
    stop_strings: Sequence[str] = (),
    has_bos: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Generate a completion for each rendered prompt, ``batch_size`` sequences at a time.

    Generation ends at the tokenizer's EOS, at ``max_tokens``, or at any of
    ``stop_strings``; the returned texts are cut before the first stop string. ``has_bos``
    says the rendered prompts already start with BOS (the formatter's ``has_bos``), as in
    training. ``temperature`` 0 is greedy; otherwise sampling is seeded by ``seed``.
    ``progress`` is called with the number of finished prompts after each one finishes.
    """
    import mlx.core as mx
    from mlx_lm.generate import BatchGenerator
    from mlx_lm.sample_utils import make_sampler

    if not prompts:
        return []
    mx.random.seed(seed)
    stops = [(t,) for t in _eos_ids(tokenizer)]
    for text in stop_strings:
        ids = tuple(tokenizer.encode(text, add_special_tokens=False))
        if ids:
            stops.append(ids)
    encoded = [list(tokenizer.encode(p, add_special_tokens=not has_bos)) for p in prompts]
    generator = BatchGenerator(
        model,
        max_tokens=max_tokens,
        stop_tokens=stops,
        sampler=make_sampler(temp=temperature) if temperature > 0 else None,
        completion_batch_size=batch_size,
        prefill_batch_size=batch_size,
    )
    try:
        uids = generator.insert(encoded, [max_tokens] * len(encoded))
        tokens = {uid: [] for uid in uids}
        finished = 0
        while responses := generator.next_generated():
            for response in responses:
                if response.finish_reason != "stop":
                    tokens[response.uid].append(response.token)
                if response.finish_reason is not None:
                    finished += 1
                    if progress is not None:
                        progress(finished)
    finally:
        generator.close()
    return [cut_at_stop(tokenizer.decode(tokens[uid]), stop_strings) for uid in uids]
