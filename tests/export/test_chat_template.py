"""The run's prompt format as a chat template: for one user message it renders exactly what
rvtune generate sends, for every formatter (transformers' own renderer)."""

import pytest

from export_helpers import tiny_model  # noqa: F401  (fixture)

from rvtune.export.chat_template import chat_template
from rvtune.formats import FormatOptions

OPTIONS = (FormatOptions(),
           FormatOptions(system='Be "terse" ✓ 😀', instruction_template="Write RISC-V for: "
                         "{description}\n(task: {prompt})"))


def render(template, messages, bos="<s>"):
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, _ = render_jinja_template([messages], chat_template=template,
                                        add_generation_prompt=True, bos_token=bos)
    return rendered[0]


@pytest.mark.parametrize("name", ["chatml", "plain", "chat-template"])
@pytest.mark.parametrize("options", OPTIONS, ids=["bare", "system+template"])
def test_template_renders_the_prompt_rvtune_sends(name, options, tiny_model):
    from dataclasses import replace

    from rvtune.core.plugins import registry

    if name == "chat-template":
        options = replace(options, tokenizer=str(tiny_model), system=None)  # [INST] has none
    formatter = registry().get("formatter", name)(options)
    prompt = "add a0 and a1 into a2"
    for bos in (False, True):
        template = chat_template(formatter, bos=bos)
        got = render(template, [{"role": "user", "content": prompt}])
        want = formatter.render_prompt(prompt)
        if bos and name != "chat-template":
            want = "<s>" + want
        assert got == want
    # a conversation renders every turn in the same layout
    turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
             {"role": "user", "content": "c"}]
    text = render(chat_template(formatter), turns)
    assert text.endswith(formatter.render_prompt("c").split("c", 1)[-1])
