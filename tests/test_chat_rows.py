"""Chat rows through `rvtune prepare`: messages and ShareGPT layouts, and bad rows as one
line naming file, row and field."""

import json

import pytest

from support import read_jsonl, write_jsonl

CHAT = {"messages": [{"role": "system", "content": "You write RISC-V."},
                     {"role": "user", "content": "Add a0 and a1 into a2."},
                     {"role": "assistant", "content": "add a2, a0, a1"},
                     {"role": "user", "content": "Now subtract them."},
                     {"role": "assistant", "content": "sub a2, a0, a1"}]}


def chats(n=6):
    rows = []
    for i in range(n):
        row = json.loads(json.dumps(CHAT))
        row["messages"][1]["content"] += f" ({i})"
        rows.append(row)
    return rows


def test_messages_rows_keep_every_assistant_turn(rvtune_cli, tmp_path):
    source = write_jsonl(tmp_path / "chat.jsonl", chats())
    out = tmp_path / "out"
    proc = rvtune_cli("prepare", "--dataset", source, "--out", out, "--valid-fraction", "0.2")
    assert proc.returncode == 0, proc.stderr
    for row in read_jsonl(out / "train.jsonl"):
        text = row["text"]
        assert [text[a:b] for a, b in row["spans"]] == ["add a2, a0, a1<|im_end|>",
                                                        "sub a2, a0, a1<|im_end|>"]
        assert text.startswith("<|im_start|>system\nYou write RISC-V.<|im_end|>\n")
        assert row["prefix"] == text[:row["spans"][-1][0]]
        assert row["input"] == "Now subtract them." and row["target"] == "sub a2, a0, a1"


def test_sharegpt_layout_by_option(rvtune_cli, tmp_path):
    rows = [{"conversations": [{"from": "human", "value": f"Q{i}"},
                               {"from": "gpt", "value": f"A{i}"},
                               {"from": "human", "value": "again"},
                               {"from": "gpt", "value": f"B{i}"}]} for i in range(5)]
    source = write_jsonl(tmp_path / "sg.jsonl", rows)
    out = tmp_path / "out"
    proc = rvtune_cli("prepare", "--dataset", source, "--out", out, "--formatter", "plain",
                      "--dataset-option", "chat=sharegpt")
    assert proc.returncode == 0, proc.stderr
    row = read_jsonl(out / "train.jsonl")[0]
    i = row["target"][1:]
    assert row["text"] == f"User: Q{i}\nAssistant: A{i}\nUser: again\nAssistant: B{i}"
    assert [row["text"][a:b] for a, b in row["spans"]] == [f" A{i}\n", f" B{i}"]


@pytest.mark.parametrize("turns, message", [
    ([{"role": "user", "content": "hi"}], "field 'messages' has no assistant turn"),
    ([{"role": "user", "content": "hi"}, {"role": "bot", "content": "x"}],
     "messages[1].role: unknown role 'bot'"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "  "}],
     "messages[1].content is empty"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant"}],
     "messages[1] has no 'content'"),
    ([{"role": "assistant", "content": "x"}], "messages[0] is an assistant turn with no user"),
])
def test_bad_chat_rows_are_one_line_naming_file_row_and_field(rvtune_cli, tmp_path, turns,
                                                              message):
    source = write_jsonl(tmp_path / "bad.jsonl", chats(3) + [{"messages": turns}])
    proc = rvtune_cli("prepare", "--dataset", source, "--out", tmp_path / "out")
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{source}:4: {message}" in errors[0], errors[0]


def test_a_single_turn_formatter_refuses_conversations(rvtune_cli, tmp_path):
    from rvtune.formats import FormatOptions, Formatter
    from rvtune.formats.messages import render_conversation

    class OneShot(Formatter):
        name = "one-shot"

        def render_prompt(self, prompt):
            return f"Q: {prompt}\nA:"

        def render_completion(self, completion):
            return f" {completion}"

    fmt = OneShot(FormatOptions())
    text, spans = render_conversation(fmt, CHAT["messages"][:3])
    assert text == "Q: Add a0 and a1 into a2.\nA: add a2, a0, a1"
    assert spans == [[len("Q: Add a0 and a1 into a2.\nA:"), len(text)]]
    with pytest.raises(Exception, match="renders one prompt and one answer, not a "
                                        "conversation of 4 turns"):
        render_conversation(fmt, CHAT["messages"])
