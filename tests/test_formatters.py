import json

import pytest

from rvtune.core.errors import UsageError
from rvtune.formats import FormatOptions, apply_instruction_template
from rvtune.formats.chat_template import ChatTemplateFormatter
from rvtune.formats.chatml import ChatMLFormatter
from rvtune.formats.plain import PlainFormatter


def test_plain_is_byte_exact():
    f = PlainFormatter()
    assert f.render("add two", "add a0, a1, a2") == "User: add two\nAssistant: add a0, a1, a2"
    head, tail = f.split("add two", "add a0, a1, a2")
    assert head == f.render_prompt("add two") == "User: add two\nAssistant:"
    assert head + tail == f.render("add two", "add a0, a1, a2")


def test_chatml_is_byte_exact_with_and_without_system():
    f = ChatMLFormatter()
    assert f.render("p", "c") == (
        "<|im_start|>user\np<|im_end|>\n<|im_start|>assistant\nc<|im_end|>")
    assert f.render_prompt("p") == "<|im_start|>user\np<|im_end|>\n<|im_start|>assistant\n"
    s = ChatMLFormatter(FormatOptions(system="You write RISC-V."))
    assert s.render("p", "c").startswith(
        "<|im_start|>system\nYou write RISC-V.<|im_end|>\n<|im_start|>user\np<|im_end|>")


def test_instruction_template_wraps_prompt_only():
    t = "Write the RISC-V assembly instruction for the following operation:\n{description}"
    f = PlainFormatter(FormatOptions(instruction_template=t))
    assert f.render("add {x}", "add a0,a1,a2") == (
        "User: Write the RISC-V assembly instruction for the following operation:\n"
        "add {x}\nAssistant: add a0,a1,a2")
    with pytest.raises(UsageError, match="placeholder"):
        apply_instruction_template("no placeholder here", "p")


def make_tokenizer_dir(path):
    """A real HF tokenizer directory with a Mistral-style chat template, built locally."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "[INST]": 3, "[/INST]": 4}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    path.mkdir(parents=True, exist_ok=True)
    tok.save(str(path / "tokenizer.json"))
    template = (
        "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}"
        "[INST] {{ m['content'] }} [/INST]{% elif m['role'] == 'assistant' %}"
        "{{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}"
    )
    (path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>",
        "eos_token": "</s>", "unk_token": "<unk>", "chat_template": template}))
    return path


def test_chat_template_uses_the_tokenizers_template(tmp_path):
    f = ChatTemplateFormatter(FormatOptions(tokenizer=str(make_tokenizer_dir(tmp_path / "tk"))))
    assert f.render_prompt("add two") == "<s>[INST] add two [/INST]"
    assert f.render("add two", "add a0, a1, a2") == "<s>[INST] add two [/INST]add a0, a1, a2</s>"
    head, tail = f.split("add two", "add a0, a1, a2")
    assert (head, tail) == ("<s>[INST] add two [/INST]", "add a0, a1, a2</s>")
    assert f.stop_strings == ("</s>",)


def test_chat_template_errors_are_clear(tmp_path):
    with pytest.raises(UsageError, match="needs a tokenizer"):
        ChatTemplateFormatter(FormatOptions())
    with pytest.raises(UsageError, match="cannot load a tokenizer"):
        ChatTemplateFormatter(FormatOptions(tokenizer=str(tmp_path / "missing-model")))
