"""Sequence packing: the rows of one batch laid end to end into a few long sequences.

A step trains on exactly the rows it would train on unpacked (``--batch-size`` still counts
rows, so the loss and gradient of a step are the same); packing only changes their layout.
Each packed sequence carries a *row map*: for every token, ``+k`` when it is a loss token of
the batch's k-th row, ``-k`` when it belongs to row k but carries no loss, ``0`` for padding.
From it the model gets a block-diagonal causal mask (a token attends only to earlier tokens
of its own row) and the loss counts a target only when it and the token before it are in the
same row. Rotary position embeddings depend only on the distance between two positions, so
a row that starts at position 300 of a sequence computes what it computes at position 0.

The mask reaches mlx-lm's model through the ``cache`` argument: a stand-in cache object whose
``make_mask`` returns it and whose ``update_and_fetch`` stores nothing. That is how mlx-lm's
``llama`` module (Llama, Mistral, SmolLM2, ...) builds its attention mask; other architectures
are not packed (:func:`supported`).
"""

import heapq

#: Most tokens of a packed sequence (or the longest row, when that is longer). The mask
#: makes attention cost grow with this width while only a row's own tokens count, so it is
#: kept to a few rows' worth.
PACK_WIDTH = 256
#: Packed widths are rounded up to a multiple of this, so few distinct shapes are compiled.
PACK_MULTIPLE = 32
#: Model modules whose attention takes the mask from the cache object (see the docstring).
PACKABLE_MODULES = ("mlx_lm.models.llama",)
#: Auto packing needs to save at least this share of the estimated matrix products.
AUTO_MARGIN = 0.10


def supported(model) -> bool:
    """Whether ``model`` (an mlx-lm model) can train on packed sequences."""
    return type(model).__module__ in PACKABLE_MODULES


def pack_width(max_seq_length: int, longest: int) -> int:
    """The width cap of packed sequences for data whose longest row is ``longest``."""
    return min(max_seq_length, max(PACK_WIDTH, longest))


def layout(lengths: list, width: int) -> tuple:
    """Assign rows (by ``lengths``) to sequences of at most ``width`` tokens.

    As few sequences as the total allows, filled evenly (longest row first into the least
    full sequence), so the padded width is close to the average fill. Returns
    ``(bins, columns)``: the row indices of each sequence and the padded width.
    """
    total = sum(lengths)
    count = max(1, -(-total // width))
    order = sorted(range(len(lengths)), key=lambda j: (-lengths[j], j))
    while True:
        heap = [(0, k) for k in range(count)]
        bins = [[] for _ in range(count)]
        for j in order:
            fill, k = heapq.heappop(heap)
            bins[k].append(j)
            heapq.heappush(heap, (fill + lengths[j], k))
        fullest = max(fill for fill, _ in heap)
        if fullest <= width or count >= len(lengths):
            break
        count += 1
    columns = max(min(-(-fullest // PACK_MULTIPLE) * PACK_MULTIPLE, width), fullest)
    return bins, columns


def pack_rows(seqs: list, spans: list, width: int):
    """``(tokens, rows)`` int32 numpy arrays of shape (sequences, columns) for the rows
    ``seqs`` (token id lists) whose loss spans are ``spans`` (``[(start, end), ...]`` per
    row: token p carries loss when ``start <= p < end``)."""
    import numpy as np

    bins, columns = layout([len(s) for s in seqs], width)
    tokens = np.zeros((len(bins), columns), np.int32)
    rows = np.zeros((len(bins), columns), np.int32)
    for b, members in enumerate(bins):
        at = 0
        for j in members:
            seq, k = seqs[j], j + 1
            tokens[b, at:at + len(seq)] = seq
            rows[b, at:at + len(seq)] = -k
            for start, end in spans[j]:
                start, end = max(start, 0), min(end, len(seq))
                if start < end:
                    rows[b, at + start:at + end] = k
            at += len(seq)
    return tokens, rows


class _RowMask:
    """Stands in for mlx-lm's KV cache during a packed forward pass: it hands the
    block-diagonal mask to the attention layers and keeps no keys or values."""

    offset = 0

    def __init__(self, rows):
        self.rows = rows

    def make_mask(self, n, return_array=False, window_size=None):
        import mlx.core as mx

        rows = self.rows
        index = mx.arange(n)
        causal = index[:, None] >= index[None, :]
        if window_size:
            causal = causal & (index[:, None] - index[None, :] < window_size)
        same = rows[:, :, None] == rows[:, None, :]
        return (same & causal)[:, None, :, :]

    def update_and_fetch(self, keys, values):
        return keys, values


def packed_logits(model, inputs, rows):
    """Logits of ``model`` on packed ``inputs`` whose row map is ``rows`` (same shape)."""
    import mlx.core as mx

    cache = _RowMask(mx.abs(rows))
    return model(inputs, cache=[cache] * len(model.layers))


def packed_loss(model, tokens, rows):
    """Mean cross-entropy over the loss tokens of a packed batch (``rows`` is the row map
    of ``tokens``, shape (sequences, 1, columns)). Returns ``(loss, n_target_tokens)``."""
    import mlx.core as mx
    import mlx.nn as nn

    rows = rows[:, 0, :]
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    before = mx.abs(rows[:, :-1])
    mask = (rows[:, 1:] == before) & (before > 0)
    logits = packed_logits(model, inputs, rows[:, :-1])
    ce = nn.losses.cross_entropy(logits, targets) * mask
    ntoks = mask.sum()
    return ce.astype(mx.float32).sum() / mx.maximum(ntoks, 1), ntoks


def flops(model) -> tuple:
    """``(per_token, per_token_per_column)``: matrix-product FLOPs of one token through
    ``model`` (projections and output head), and what each column of its sequence adds in
    attention (scores and weighted values, every layer). Ratios are all that matter."""
    from .memory import _dims

    d = _dims(vars(model.args))
    block = 2 * d["H"] * d["nh"] * d["hd"] + 2 * d["H"] * d["nkv"] * d["hd"] + 3 * d["H"] * d["I"]
    return 2 * (d["L"] * block + d["H"] * d["V"]), 4 * d["L"] * d["nh"] * d["hd"]


def footprint(batches, width: int | None, per_token: float = 1.0,
              per_column: float = 0.0) -> tuple:
    """``(slots, cost)`` of one epoch of ``batches`` (a ``data.Batches``), packed into
    sequences of ``width`` or (``width`` None) padded per batch: token slots per real token,
    and relative compute (each slot costs ``per_token + per_column x sequence width``)."""
    from .data import padded_width

    ids = batches.data.ids
    used = real = cost = 0
    for chunk in batches.chunks:
        lengths = [len(ids[i]) for i in chunk[batches.rank::batches.world_size]]
        real += sum(lengths)
        if width:
            bins, cols = layout(lengths, width)
            count = len(bins)
        else:
            count = len(lengths)
            cols = padded_width(max(lengths), batches.max_seq_length)
        used += count * cols
        cost += count * cols * (per_token + per_column * cols)
    return used / max(real, 1), cost


def decide(wanted, model, batches, log) -> int | None:
    """The packed width for training on ``batches`` (None: not packed).

    ``wanted`` is ``--pack`` (True), ``--no-pack`` (False) or None (auto: packed when the
    model supports it and packing saves at least :data:`AUTO_MARGIN` of the step's matrix
    products: fewer padded slots, against attention over the whole packed width).
    """
    from rvtune.core.errors import UsageError

    if wanted is False:
        return None
    if not supported(model):
        if wanted:
            raise UsageError(f"--pack: {type(model).__module__} models are not supported "
                             f"(only {', '.join(PACKABLE_MODULES)}); drop --pack")
        return None
    longest = max(len(ids) for ids in batches.data.ids)
    width = pack_width(batches.max_seq_length, longest)
    try:
        per_token, per_column = flops(model)
    except (AttributeError, KeyError, TypeError, ZeroDivisionError):
        per_token, per_column = 1.0, 0.0
    plain, plain_cost = footprint(batches, None, per_token, per_column)
    packed, packed_cost = footprint(batches, width, per_token, per_column)
    change = packed_cost / max(plain_cost, 1e-9) - 1
    facts = (f"{packed:.2f} token slots per token instead of {plain:.2f} padded per batch, "
             f"matrix products {100 * change:+.0f}%")
    if wanted is None and change > -AUTO_MARGIN:
        log(f"Not packing (sequences of up to {width} tokens would take {facts}; "
            "--pack forces it)")
        return None
    log(f"Packing rows into sequences of up to {width} tokens: {facts} "
        "(--no-pack turns it off)")
    return width
