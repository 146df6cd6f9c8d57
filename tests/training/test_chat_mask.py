"""Multi-turn chat rows: the loss mask covers every assistant turn and nothing else, checked
token by token against the formatted text (ChatML, plain, the tokenizer's chat template)."""

import pytest

from rvtune.formats import FormatOptions
from rvtune.formats.messages import format_record, render_conversation

ANSWERS = ["add a2, a0, a1", "lw t0, 8(sp)", "j loop", "sub t3, t2, t1", "xori a0, a0, -1"]
QUESTIONS = ["Add a0 and a1 into a2.", "Load a word from 8(sp) into t0.", "Jump to loop.",
             "Subtract t1 from t2 into t3.", "Invert the bits of a0."]


def conversation(exchanges: int, system: bool) -> list:
    messages = [{"role": "system", "content": "You write RISC-V."}] if system else []
    for question, answer in list(zip(QUESTIONS, ANSWERS))[:exchanges]:
        messages += [{"role": "user", "content": question},
                     {"role": "assistant", "content": answer}]
    return messages


def formatter(name, tokenizer_dir):
    from rvtune.formats.chat_template import ChatTemplateFormatter
    from rvtune.formats.chatml import ChatMLFormatter
    from rvtune.formats.plain import PlainFormatter

    classes = {"chatml": ChatMLFormatter, "plain": PlainFormatter,
               "chat-template": ChatTemplateFormatter}
    return classes[name](FormatOptions(tokenizer=str(tokenizer_dir)))


def trained_positions(record, tokenizer, has_bos, train_on="all"):
    """Token ids and, per token, whether the trainer's loss mask includes it."""
    import numpy as np

    from rvtune.training.data import Batches, encode_rows, target_mask

    data = encode_rows([record], tokenizer, has_bos=has_bos, mask_prompt=True,
                       max_seq_length=4096, train_on=train_on)
    tokens, lengths, _ = Batches(data, 1, 0, 4096).batch(0)
    mask = np.array(target_mask(lengths, tokens.shape[1] - 1))[0]
    ids = data.ids[0]
    # target position p (1-based) predicts token p; token 0 is never a target
    return ids, [False] + [bool(m) for m in mask[:len(ids) - 1]]


@pytest.mark.parametrize("name", ["chatml", "plain", "chat-template"])
@pytest.mark.parametrize("exchanges", [2, 3, 5])
@pytest.mark.parametrize("system", [False, True], ids=["no-system", "system"])
def test_mask_covers_every_assistant_turn_and_nothing_else(loaded_tiny, tiny_model, name,
                                                           exchanges, system):
    _model, tokenizer = loaded_tiny
    fmt = formatter(name, tiny_model)
    messages = conversation(exchanges, system)
    record = format_record(fmt, messages[-2]["content"], messages[-1]["content"],
                           {"messages": messages})
    text, spans = record["text"], record["spans"]
    assert len(spans) == exchanges
    for (start, end), answer in zip(spans, ANSWERS):
        assert answer in text[start:end]  # each span is that answer (and its end marker)
        assert "user" not in text[start:end].lower() and "[INST]" not in text[start:end]

    ids, trained = trained_positions(record, tokenizer, fmt.has_bos)
    hf = getattr(tokenizer, "_tokenizer", tokenizer)
    offsets = hf(text, add_special_tokens=not fmt.has_bos,
                 return_offsets_mapping=True)["offset_mapping"]
    inside = set()
    for start, end in spans:
        inside.update(range(start, end))
    body = len(offsets)
    assert ids[:body] == hf(text, add_special_tokens=not fmt.has_bos)["input_ids"]
    for index, (start, end) in enumerate(offsets):
        chars = set(range(start, end))
        expected = bool(chars) and chars <= inside
        assert trained[index] == expected, (
            f"token {index} {text[start:end]!r} at {start}:{end}: mask {trained[index]}")
    covered = set()
    for index, (start, end) in enumerate(offsets):
        if trained[index]:
            covered.update(range(start, end))
    assert covered == inside, "every character of every assistant turn carries loss"
    if len(ids) > body:  # the EOS the trainer appends ends the last answer
        assert trained[body:] == [True] * (len(ids) - body)

    ids, last_only = trained_positions(record, tokenizer, fmt.has_bos, train_on="last")
    start = spans[-1][0]
    for index, (begin, end) in enumerate(offsets):
        assert last_only[index] == (trained[index] and begin >= start)


def test_single_turn_rows_render_as_before(tiny_model):
    for name in ("chatml", "plain", "chat-template"):
        fmt = formatter(name, tiny_model)
        messages = conversation(1, False)
        text, spans = render_conversation(fmt, messages)
        head, tail = fmt.split(QUESTIONS[0], ANSWERS[0])
        assert text == head + tail and spans == [[len(head), len(text)]]


@pytest.mark.slow
def test_training_on_chat_rows_only_learns_answers(make_job, tmp_path):
    """A real run on chat rows: prepare keeps the spans; the loss falls."""
    import json

    from rvtune.core.datasets import DatasetSpec
    from rvtune.core.prepare import PrepareConfig, prepare

    rows = []
    for i in range(40):
        turns = [{"from": "system", "value": "Answer in RISC-V."}] if i % 2 else []
        for j in range(1 + i % 3):
            k = (i + j) % 5
            turns += [{"from": "human", "value": f"{QUESTIONS[k]} ({i})"},
                      {"from": "gpt", "value": ANSWERS[k]}]
        rows.append({"conversations": turns})
    source = tmp_path / "chats.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "data"
    prepare(PrepareConfig(dataset=DatasetSpec(source=str(source),
                                              options={"chat": "sharegpt"}),
                          out=str(out), valid_fraction=0.2))
    first = json.loads((out / "train.jsonl").read_text().splitlines()[0])
    assert first["spans"] and first["messages"][-1]["role"] == "assistant"
    job = make_job(data_dir=out, iters=16, steps_per_eval=8, save_every=8)
    from rvtune.plugins.mlx_trainer import MlxTrainer

    result = MlxTrainer().train(job)
    losses = [json.loads(line) for line in (job.run_dir / "metrics.jsonl").read_text()
              .splitlines()]
    val = [r["val_loss"] for r in losses if r["type"] == "val"]
    assert result.steps == 16 and val[-1] < val[0]
