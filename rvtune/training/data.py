"""Prepared rows -> token ids with a loss-mask offset -> padded batches.

Each row of ``train.jsonl`` holds ``text`` (prompt + completion) and ``prefix`` (the
rendered prompt). The loss starts at ``offset``, the first token of the completion, when
the prompt is masked. Batch order is a pure function of (seed, step), so a resumed run
sees exactly the batches the uninterrupted run would have seen.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from rvtune.core.errors import DataError, UsageError

PAD_MULTIPLE = 16


def read_rows(path: Path) -> list:
    """The rows of a prepared ``.jsonl`` split (an absent file is an empty split)."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: malformed JSON ({exc.msg}); "
                                "prepare the data again") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise DataError(f"{path}:{lineno}: no 'text' field; prepare the data again "
                                "with `rvtune prepare`")
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
    truncated: int = 0
    no_target: int = 0

    def __len__(self):
        return len(self.ids)


def encode_rows(rows, tokenizer, *, has_bos: bool, mask_prompt: bool,
                max_seq_length: int) -> Encoded:
    """Tokenize rows, append EOS, find each prompt's end, truncate to ``max_seq_length``."""
    add_special = not has_bos
    eos = tokenizer.eos_token_id
    out = Encoded()
    for row in rows:
        text = row["text"]
        ids = list(tokenizer.encode(text, add_special_tokens=add_special))
        if eos is not None and (not ids or ids[-1] != eos):
            ids.append(eos)
        offset = 0
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
    return out


class Batches:
    """Fixed batches of similar-length rows, visited in a seeded order per epoch.

    Rows are sorted by length and cut into ``batch_size`` chunks (the last chunk is filled
    from the start, so no row is dropped). ``batch_size`` is the global batch: on
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
        order = sorted(range(len(data)), key=lambda i: len(data.ids[i]))
        count = -(-len(order) // batch_size)
        padded = order + order[: count * batch_size - len(order)]
        self.chunks = [padded[i * batch_size:(i + 1) * batch_size] for i in range(count)]
        self._epoch, self._perm = None, None

    def __len__(self):
        return len(self.chunks)

    def order(self, epoch: int):
        """The visiting order of the batches in ``epoch`` (a pure function of seed, epoch)."""
        import numpy as np

        if epoch != self._epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.chunks))
            self._epoch = epoch
        return self._perm

    def position(self, step: int) -> dict:
        """Where batch ``step`` (0-based) sits: epoch and index in that epoch's order."""
        epoch, index = divmod(step, len(self.chunks))
        return {"seed": self.seed, "epoch": epoch, "index": index}

    def batch(self, step: int):
        """``(tokens, lengths, n_tokens)`` for step ``step`` (0-based); ``lengths`` holds
        (offset, length) per row as mlx-lm's tuner does, or for a packed batch the row map
        of ``tokens`` with shape (sequences, 1, columns) (see ``training.packing``)."""
        import mlx.core as mx
        import numpy as np

        where = self.position(step)
        chunk = self.chunks[int(self.order(where["epoch"])[where["index"]])]
        rows = chunk[self.rank::self.world_size]
        seqs = [self.data.ids[i] for i in rows]
        longest = max(len(s) for s in seqs)
        width = min(-(-longest // PAD_MULTIPLE) * PAD_MULTIPLE, self.max_seq_length)
        width = max(width, longest)
        if self.pack_width:
            from .packing import pack_rows

            spans = [[(self.data.offsets[i], len(self.data.ids[i]))] for i in rows]
            arr, row_map = pack_rows(seqs, spans, self.pack_width)
            return mx.array(arr), mx.array(row_map[:, None, :]), sum(map(len, seqs))
        arr = np.zeros((len(seqs), width), np.int32)
        lengths = np.zeros((len(seqs), 2), np.int32)
        for j, (i, seq) in enumerate(zip(rows, seqs)):
            arr[j, :len(seq)] = seq
            lengths[j] = (self.data.offsets[i], len(seq))
        return mx.array(arr), mx.array(lengths), int(lengths[:, 1].sum())


def masked_loss(model, tokens, lengths):
    """Mean cross-entropy over completion tokens: target position p counts when
    ``offset <= p < length``. Returns ``(loss, n_target_tokens)``."""
    import mlx.core as mx
    import mlx.nn as nn

    if lengths.ndim == 3:  # a packed batch: lengths is its row map (training.packing)
        from .packing import packed_loss

        return packed_loss(model, tokens, lengths)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    logits = model(inputs)
    positions = mx.arange(1, targets.shape[1] + 1)[None, :]
    mask = (positions >= lengths[:, 0:1]) & (positions < lengths[:, 1:2])
    ce = nn.losses.cross_entropy(logits, targets) * mask
    ntoks = mask.sum()
    return ce.astype(mx.float32).sum() / mx.maximum(ntoks, 1), ntoks


def token_losses(model, tokens, lengths):
    """Per-position masked losses (zero where the mask excludes a token); for inspection."""
    import mlx.core as mx
    import mlx.nn as nn

    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    positions = mx.arange(1, targets.shape[1] + 1)[None, :]
    mask = (positions >= lengths[:, 0:1]) & (positions < lengths[:, 1:2])
    return nn.losses.cross_entropy(model(inputs), targets) * mask
