"""Prepared rows -> token ids with a loss-mask offset -> padded batches.

Each row of ``train.jsonl`` holds ``text`` (prompt + completion) and ``prefix`` (the
rendered prompt). The loss starts at ``offset``, the first token of the completion, when
the prompt is masked. Batch order is a pure function of (seed, step), so a resumed run
sees exactly the batches the uninterrupted run would have seen.
"""

from dataclasses import dataclass, field
from pathlib import Path

from rvtune.core.errors import DataError, UsageError

PAD_MULTIPLE = 16


def padded_width(longest: int, max_seq_length: int) -> int:
    """The width of a batch whose longest row has ``longest`` tokens: a multiple of 16, and
    of an eighth of the power of two below ``longest`` for longer rows. A run then compiles
    its step for at most about eight widths per doubling of row length (each new shape is a
    new compilation), and padding stays under an eighth."""
    step = max(PAD_MULTIPLE, (1 << (max(longest, 1).bit_length() - 1)) // 8)
    return max(min(-(-longest // step) * step, max_seq_length), longest)


def read_rows(path: Path) -> list:
    """The rows of a prepared ``.jsonl`` split (an absent file is an empty split)."""
    path = Path(path)
    if not path.exists():
        return []
    from rvtune.core.datasets import BadRow
    from rvtune.core.jsonl import jsonl_rows

    rows = []
    for where, row in jsonl_rows(path):
        if isinstance(row, BadRow):
            raise DataError(f"{row.message}; or prepare the data again with `rvtune prepare`")
        if not isinstance(row.get("text"), str):
            raise DataError(f"{where}: no 'text' field; prepare the data again with "
                            "`rvtune prepare`")
        rows.append(row)
    return rows


def _hf(tokenizer):
    return getattr(tokenizer, "_tokenizer", tokenizer)


def prompt_offset(tokenizer, prefix: str, text: str, ids: list, add_special: bool) -> int:
    """Index of the first completion token of ``text`` (whose ids are ``ids``).

    Normally the tokens of ``prefix`` are a prefix of the tokens of ``text``; when a merge
    crosses the boundary they are not, and character offsets decide instead: the first
    token that ends past the prompt belongs to the completion.
    """
    if not prefix:
        return 0
    head = tokenizer.encode(prefix, add_special_tokens=add_special)
    if len(head) <= len(ids) and ids[:len(head)] == head:
        return len(head)
    hf = _hf(tokenizer)
    try:
        enc = hf(text, add_special_tokens=add_special, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
    except (NotImplementedError, TypeError, ValueError, KeyError):
        offsets = None
    if offsets and len(offsets) == len(ids):
        for index, (start, end) in enumerate(offsets):
            if end > len(prefix) and end > start:
                return index
        return len(ids)
    # Slow tokenizers have no offsets: grow a prefix of tokens until it covers the prompt.
    for index in range(1, len(ids) + 1):
        if len(tokenizer.decode(ids[:index])) >= len(prefix):
            return index
    return len(ids)


@dataclass
class Encoded:
    """A tokenized split: ids, loss offsets and what truncation did."""

    ids: list = field(default_factory=list)
    offsets: list = field(default_factory=list)
    #: Per row: None (loss from ``offset`` to the end) or the token spans ``[(start, end),
    #: ...]`` that carry loss (the assistant turns of a multi-turn row).
    spans: list = field(default_factory=list)
    truncated: int = 0
    no_target: int = 0

    def __len__(self):
        return len(self.ids)


def token_spans(tokenizer, text: str, ids: list, char_spans, add_special: bool) -> list:
    """Character spans of ``text`` -> token spans ``(start, end)`` of ``ids``: a token
    belongs to a span when it ends inside it (the rule :func:`prompt_offset` uses)."""
    spans = []
    for start, end in char_spans:
        first = prompt_offset(tokenizer, text[:start], text, ids, add_special)
        last = len(ids) if end >= len(text) else prompt_offset(tokenizer, text[:end], text,
                                                               ids, add_special)
        spans.append((first, last))
    return spans


def _char_spans(row, train_on: str):
    spans = row.get("spans")
    if not spans:
        return None
    text = row["text"]
    if not (isinstance(spans, list) and all(
            isinstance(s, list) and len(s) == 2 and 0 <= s[0] < s[1] <= len(text)
            for s in spans)):
        raise DataError("a prepared row has malformed 'spans' (character ranges of its "
                        "assistant turns); prepare the data again")
    return spans[-1:] if train_on == "last" else spans


def encode_rows(rows, tokenizer, *, has_bos: bool, mask_prompt: bool,
                max_seq_length: int, train_on: str = "all") -> Encoded:
    """Tokenize rows, append EOS, find each prompt's end, truncate to ``max_seq_length``.

    A multi-turn row carries ``spans`` (character ranges of its assistant turns): the loss
    then covers those turns, every one (``train_on="all"``) or the last (``"last"``), plus
    the EOS after the last turn, and nothing else.
    """
    add_special = not has_bos
    eos = tokenizer.eos_token_id
    out = Encoded()
    for row in rows:
        text = row["text"]
        ids = list(tokenizer.encode(text, add_special_tokens=add_special))
        if eos is not None and (not ids or ids[-1] != eos):
            ids.append(eos)
        offset = 0
        char_spans = _char_spans(row, train_on) if mask_prompt else None
        if char_spans:
            body = ids[:-1] if ids and ids[-1] == eos else ids
            spans = token_spans(tokenizer, text, body, char_spans, add_special)
            if spans[-1][1] == len(body):  # the last turn ends the text: EOS trains too
                spans[-1] = (spans[-1][0], len(ids))
            kept = [(min(a, max_seq_length), min(b, max_seq_length)) for a, b in spans]
            if len(ids) > max_seq_length:
                ids = ids[:max_seq_length]
                out.truncated += 1
                if all(a >= b for a, b in kept):
                    out.no_target += 1
            out.ids.append(ids)
            out.offsets.append(max(spans[0][0], 1))
            out.spans.append([(max(a, 1), b) for a, b in kept if a < b])
            continue
        if mask_prompt:
            prefix = row.get("prefix")
            if not isinstance(prefix, str) or not text.startswith(prefix):
                raise DataError("a prepared row has no 'prefix' that starts its 'text', so the "
                                "prompt cannot be masked; prepare the data again or pass "
                                "--no-mask-prompt")
            offset = prompt_offset(tokenizer, prefix, text, ids[:-1] if ids and
                                   ids[-1] == eos else ids, add_special)
        if len(ids) > max_seq_length:
            ids = ids[:max_seq_length]
            out.truncated += 1
            if offset >= max_seq_length:
                out.no_target += 1
        out.ids.append(ids)
        out.offsets.append(max(offset, 1))
        out.spans.append(None)
    return out


class Batches:
    """Batches of similar-length rows, regrouped and visited in a seeded order per epoch.

    Each epoch, rows are sorted by padded length (ties shuffled by the seed and the epoch)
    and cut into ``batch_size`` chunks (the last chunk is filled from the start, so no row
    is dropped); the chunks are then visited in a seeded order. ``batch_size`` is the global batch: on
    ``world_size`` processes each one takes every ``world_size``-th row of it (rank r gets
    rows r, r + world_size, ...), so together they see exactly the rows one process would.
    """

    def __init__(self, data: Encoded, batch_size: int, seed: int, max_seq_length: int,
                 rank: int = 0, world_size: int = 1, pack_width: int | None = None):
        if batch_size % world_size:
            raise UsageError(f"--batch-size {batch_size}: must be a multiple of the number "
                             f"of processes ({world_size}); each process takes batch-size / "
                             "processes rows of every step")
        self.data = data
        self.batch_size = batch_size
        self.seed = seed
        self.max_seq_length = max_seq_length
        self.rank, self.world_size = rank, world_size
        # Packed (training.packing): each batch's rows end to end in sequences this wide.
        self.pack_width = pack_width
        self.count = -(-len(data) // batch_size)
        self._epoch, self._perm, self._chunks = None, None, None
        self.chunks = self.chunks_of(0)

    def __len__(self):
        return self.count

    def chunks_of(self, epoch: int) -> list:
        """The batches (lists of row indices) of ``epoch``: rows sorted by the width their
        batch is padded to (:func:`padded_width`, so padding is as low as sorting by length),
        ties broken by a seeded shuffle per epoch, so each epoch groups the rows afresh."""
        import numpy as np

        tie = np.random.default_rng([self.seed, epoch, 1]).permutation(len(self.data))
        width = [padded_width(len(ids), self.max_seq_length) for ids in self.data.ids]
        order = sorted(range(len(self.data)), key=lambda i: (width[i], tie[i]))
        padded = order + order[: self.count * self.batch_size - len(order)]
        size = self.batch_size
        return [padded[i * size:(i + 1) * size] for i in range(self.count)]

    def order(self, epoch: int):
        """The visiting order of the batches in ``epoch`` (a pure function of seed, epoch)."""
        import numpy as np

        if epoch != self._epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.count)
            self._chunks = self.chunks_of(epoch)
            self._epoch = epoch
        return self._perm

    def position(self, step: int) -> dict:
        """Where batch ``step`` (0-based) sits: epoch and index in that epoch's order."""
        epoch, index = divmod(step, self.count)
        return {"seed": self.seed, "epoch": epoch, "index": index}

    def _chunks_at(self, where: dict) -> list:
        perm = self.order(where["epoch"])
        return self._chunks[int(perm[where["index"]])]

    def batch(self, step: int):
        """``(tokens, lengths, n_tokens)`` for step ``step`` (0-based); ``lengths`` holds
        (offset, length) per row as mlx-lm's tuner does, or for a packed batch the row map
        of ``tokens`` with shape (sequences, 1, columns) (see ``training.packing``)."""
        import mlx.core as mx
        import numpy as np

        where = self.position(step)
        chunk = self._chunks_at(where)
        rows = chunk[self.rank::self.world_size]
        seqs = [self.data.ids[i] for i in rows]
        longest = max(len(s) for s in seqs)
        width = padded_width(longest, self.max_seq_length)
        spans = [(self.data.spans[i] if i < len(self.data.spans) else None)
                 or [(self.data.offsets[i], len(self.data.ids[i]))] for i in rows]
        if self.pack_width:
            from .packing import pack_rows

            arr, row_map = pack_rows(seqs, spans, self.pack_width)
            return mx.array(arr), mx.array(row_map[:, None, :]), sum(map(len, seqs))
        arr = np.zeros((len(seqs), width), np.int32)
        # (offset, length) per row as mlx-lm's tuner has it; a multi-turn row adds a pair
        # per further assistant turn, (0, 0) pairs fill the rest.
        lengths = np.zeros((len(seqs), 2 * max(len(s) for s in spans)), np.int32)
        for j, (seq, pairs) in enumerate(zip(seqs, spans)):
            arr[j, :len(seq)] = seq
            lengths[j, :2 * len(pairs)] = np.array(pairs, np.int32).reshape(-1)
        return mx.array(arr), mx.array(lengths), sum(len(seq) for seq in seqs)


def target_mask(lengths, width: int):
    """Which target positions 1..width carry loss: position p counts when
    ``start <= p < end`` for one of the row's ``(start, end)`` pairs in ``lengths``
    (``(offset, length)`` for a single-turn row)."""
    import mlx.core as mx

    positions = mx.arange(1, width + 1)[None, :]
    if lengths.shape[1] == 2:
        return (positions >= lengths[:, 0:1]) & (positions < lengths[:, 1:2])
    pairs = lengths.reshape(lengths.shape[0], -1, 2)
    inside = ((positions[:, :, None] >= pairs[:, None, :, 0])
              & (positions[:, :, None] < pairs[:, None, :, 1]))
    return inside.any(axis=2)


def masked_loss(model, tokens, lengths):
    """Mean cross-entropy over completion tokens: target position p counts when
    ``offset <= p < length`` (or inside any of a multi-turn row's spans, see
    :func:`target_mask`). Returns ``(loss, n_target_tokens)``."""
    import mlx.core as mx
    import mlx.nn as nn

    if lengths.ndim == 3:  # a packed batch: lengths is its row map (training.packing)
        from .packing import packed_loss

        return packed_loss(model, tokens, lengths)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    logits = model(inputs)
    mask = target_mask(lengths, targets.shape[1])
    ce = nn.losses.cross_entropy(logits, targets) * mask
    ntoks = mask.sum()
    return ce.astype(mx.float32).sum() / mx.maximum(ntoks, 1), ntoks


def token_losses(model, tokens, lengths):
    """Per-position masked losses (zero where the mask excludes a token); for inspection."""
    import mlx.core as mx
    import mlx.nn as nn

    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    mask = target_mask(lengths, targets.shape[1])
    return nn.losses.cross_entropy(model(inputs), targets) * mask
