"""Tokenizing, prompt masking and batching."""

import pytest

from rvtune.formats import FormatOptions
from rvtune.formats.chatml import ChatMLFormatter
from rvtune.formats.plain import PlainFormatter

ROWS = [("Add a0 and a1 into a2.", "add a2, a0, a1"),
        ("Load a word from 8(sp) into t0.", "lw t0, 8(sp)"),
        ("Jump to the label loop.", "j loop"),
        ("Subtract t1 from t2 into t3.", "sub t3, t2, t1")]


def rows_for(formatter):
    rows = []
    for prompt, completion in ROWS:
        head, tail = formatter.split(prompt, completion)
        rows.append({"text": head + tail, "prefix": head, "input": prompt, "target": completion})
    return rows


@pytest.mark.parametrize("formatter", [PlainFormatter(FormatOptions()),
                                       ChatMLFormatter(FormatOptions())], ids=["plain", "chatml"])
def test_mask_prompt_zeroes_the_loss_on_prompt_tokens(loaded_tiny, formatter):
    import mlx.core as mx
    import numpy as np

    from rvtune.training.data import Batches, encode_rows, token_losses

    model, tokenizer = loaded_tiny
    rows = rows_for(formatter)
    masked = encode_rows(rows, tokenizer, has_bos=False, mask_prompt=True, max_seq_length=256)
    plain = encode_rows(rows, tokenizer, has_bos=False, mask_prompt=False, max_seq_length=256)
    for row, ids, offset in zip(rows, masked.ids, masked.offsets):
        prompt_ids = tokenizer.encode(row["prefix"])
        assert offset == len(prompt_ids)  # the first answer token
        assert ids[-1] == tokenizer.eos_token_id
    for data in (masked, plain):
        tokens, lengths, _ = Batches(data, 4, 0, 256).batch(0)
        losses = np.array(token_losses(model, tokens, lengths).astype(mx.float32))
        lengths = np.array(lengths)
        for j in range(len(lengths)):
            offset, length = lengths[j]
            targets = losses[j]  # position p-1 holds the loss of predicting token p
            if data is masked:
                assert np.all(targets[: offset - 1] == 0), "prompt tokens must add no loss"
            else:
                assert np.all(targets[: offset - 1] > 0) if offset > 1 else True
            assert np.all(targets[offset - 1: length - 1] > 0)
            assert np.all(targets[length - 1:] == 0), "padding adds no loss"
    # masking changes only which tokens count: the unmasked run counts the prompt too
    assert all(o == 1 for o in plain.offsets)


def test_prompt_offset_falls_back_to_characters_when_tokens_merge(loaded_tiny):
    from rvtune.training.data import prompt_offset

    tokenizer = loaded_tiny[1]
    # A word whose last letter merges into the token before it (" add" + "i" -> " addi" in
    # one build of the tiny tokenizer): found in the vocabulary, since the merges it learns
    # follow the built-in generator's sentences.
    prefix = text = None
    for word in sorted(t[1:] for t in tokenizer._tokenizer.get_vocab() if t.startswith("Ġ")):
        if len(word) < 3 or not word.isalpha():
            continue
        candidate_prefix, candidate = f"User: {word[:-1]}", f"User: {word} t0, t0, 1"
        head = tokenizer.encode(candidate_prefix)
        if tokenizer.encode(candidate)[:len(head)] != head:
            prefix, text = candidate_prefix, candidate
            break
    assert prefix, "the tiny tokenizer merges no word across a prompt boundary"
    ids = tokenizer.encode(text)
    head = tokenizer.encode(prefix)
    offset = prompt_offset(tokenizer, prefix, text, ids, True)
    assert ids[:len(head)] != head  # the last letter merged across the boundary
    # the token at ``offset`` is the first one that reaches past the prompt
    assert len(tokenizer.decode(ids[1:offset])) <= len(prefix)
    assert len(tokenizer.decode(ids[1:offset + 1])) > len(prefix)


def test_truncation_is_counted(loaded_tiny):
    from rvtune.training.data import encode_rows

    tokenizer = loaded_tiny[1]
    rows = rows_for(ChatMLFormatter(FormatOptions()))
    data = encode_rows(rows, tokenizer, has_bos=False, mask_prompt=True, max_seq_length=12)
    assert data.truncated == len(rows)
    assert all(len(ids) == 12 for ids in data.ids)
    assert data.no_target == sum(1 for o in data.offsets if o >= 12)


def test_batch_order_is_a_function_of_seed_and_step(loaded_tiny):
    import numpy as np

    from rvtune.training.data import Batches, Encoded

    data = Encoded(ids=[[1] * (3 + i % 7) for i in range(22)], offsets=[1] * 22)
    a, b = Batches(data, 4, 7, 64), Batches(data, 4, 7, 64)
    assert len(a) == 6  # 22 rows -> 5 full batches + 1 filled from the start
    for step in (0, 5, 6, 13, 40):
        assert np.array_equal(np.array(a.batch(step)[0]), np.array(b.batch(step)[0]))
    seen = set()
    for step in range(len(a)):
        seen.update(a.chunks[int(a.order(0)[step])])
    assert seen == set(range(22))
    other = Batches(data, 4, 8, 64)
    assert list(other.order(0)) != list(a.order(0)) or list(other.order(1)) != list(a.order(1))
