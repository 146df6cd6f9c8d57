"""The run's prompt format as a Jinja chat template, for fused models and GGUF files.

A fused model keeps the base model's tokenizer files, whose chat template is the base's
(Mistral's ``[INST]`` for the tiny preset) while the run may have trained on ChatML or the
plain layout. mlx-lm (``mlx_lm generate``, ``mlx_lm.server``), transformers and llama.cpp all
prompt with the chat template, so rvtune writes the run's own layout there: the formatter,
its instruction template (``Write RISC-V for: {description}`` wraps every user message) and
its system message (used when the conversation brings none). For a single user message the
template renders exactly what ``rvtune generate`` sends (``render_prompt``).

- ``chatml``: ``<|im_start|>ROLE\\n...<|im_end|>\\n`` per message, ``<|im_start|>assistant\\n``
  as the generation prompt;
- ``plain``: ``System: ...``, ``User: ...``, ``Assistant: ...`` lines, ``Assistant:`` as the
  generation prompt;
- ``chat-template``: the tokenizer's own template, after a short preamble that applies the
  instruction template and the system message to ``messages``;
- any other formatter: its ``render_prompt`` around the last user message.
"""

import json
import re

_PLACEHOLDER = re.compile(r"\{description\}|\{prompt\}")


def _lit(text: str) -> str:
    """A Jinja string literal (Jinja reads JSON's escapes)."""
    return json.dumps(text, ensure_ascii=False)


def _wrapped(options, content: str = "message['content']") -> str:
    """A Jinja expression: ``content`` inside the instruction template."""
    template = options.instruction_template
    if not template:
        return content
    parts = _PLACEHOLDER.split(template)
    pieces = []
    for i, part in enumerate(parts):
        if part:
            pieces.append(_lit(part))
        if i < len(parts) - 1:
            pieces.append(content)
    return " ~ ".join(pieces)


def _default_system(options, text_of) -> str:
    if not options.system:
        return ""
    return ("{%- if not messages or messages[0]['role'] != 'system' %}"
            f"{{{{ {text_of(_lit(options.system))} }}}}"
            "{%- endif %}")


def _chatml(options) -> str:
    def turn(role_expr, content_expr):
        return f"'<|im_start|>' ~ {role_expr} ~ '\\n' ~ {content_expr} ~ '<|im_end|>\\n'"

    other = turn("message['role']", "message['content']")
    return (
        _default_system(options, lambda s: turn("'system'", s))
        + "{%- for message in messages %}"
        + "{%- if message['role'] == 'user' %}"
        + f"{{{{ {turn(_lit('user'), _wrapped(options))} }}}}"
        + "{%- else %}"
        + f"{{{{ {other} }}}}"
        + "{%- endif %}"
        + "{%- endfor %}"
        + "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
    )


def _plain(options) -> str:
    user = f"'User: ' ~ {_wrapped(options)} ~ '\\n'"
    return (
        _default_system(options, lambda s: f"'System: ' ~ {s} ~ '\\n'")
        + "{%- for message in messages %}"
        + "{%- if message['role'] == 'system' %}{{ 'System: ' ~ message['content'] ~ '\\n' }}"
        + f"{{%- elif message['role'] == 'user' %}}{{{{ {user} }}}}"
        + "{%- else %}{{ 'Assistant: ' ~ message['content'] ~ '\\n' }}"
        + "{%- endif %}"
        + "{%- endfor %}"
        + "{%- if add_generation_prompt %}{{ 'Assistant:' }}{%- endif %}"
    )


def _preamble(options) -> str:
    """Jinja that rewrites ``messages`` the way the formatter prepares them."""
    if not options.instruction_template and not options.system:
        return ""
    head = "{%- set ns = namespace(items=[]) %}"
    if options.system:
        system = f"{{'role': 'system', 'content': {_lit(options.system)}}}"
        head += ("{%- if not messages or messages[0]['role'] != 'system' %}"
                 f"{{%- set ns.items = [{system}] %}}"
                 "{%- endif %}")
    user = f"{{'role': 'user', 'content': {_wrapped(options)}}}"
    head += ("{%- for message in messages %}"
             "{%- if message['role'] == 'user' %}"
             f"{{%- set ns.items = ns.items + [{user}] %}}"
             "{%- else %}{%- set ns.items = ns.items + [message] %}{%- endif %}"
             "{%- endfor %}"
             "{%- set messages = ns.items %}")
    return head


def _around_last_user(formatter) -> str:
    marker = "\x00PROMPT\x00"
    before, _, after = formatter.render_prompt(marker).partition(marker)
    return ("{%- set ns = namespace(text='') %}"
            "{%- for message in messages %}{%- if message['role'] == 'user' %}"
            "{%- set ns.text = message['content'] %}{%- endif %}{%- endfor %}"
            f"{{{{ {_lit(before)} ~ ns.text ~ {_lit(after)} }}}}")


def adds_bos(tokenizer) -> bool:
    """Whether encoding text with ``tokenizer`` puts its BOS token first (the tiny preset's
    and Llama's do, SmolLM2's does not)."""
    bos = getattr(tokenizer, "bos_token_id", None)
    ids = list(tokenizer.encode("a"))
    return bos is not None and bool(ids) and ids[0] == bos


def chat_template(formatter, bos: bool = False) -> str:
    """The Jinja chat template that prompts like ``formatter`` (a rvtune Formatter).

    ``bos``: the tokenizer adds BOS when encoding, as training did; chat templates are
    rendered and then tokenized without special tokens (mlx-lm, transformers), so the
    template itself starts with ``{{ bos_token }}`` (llama.cpp drops it when it adds its own).
    """
    options = formatter.options
    own = getattr(getattr(formatter, "tokenizer", None), "chat_template", None)
    if formatter.name == "chat-template" and isinstance(own, str):
        return _preamble(options) + own
    head = "{{- bos_token }}" if bos and not getattr(formatter, "has_bos", False) else ""
    if formatter.name == "chatml":
        return head + _chatml(options)
    if formatter.name == "plain":
        return head + _plain(options)
    return head + _around_last_user(formatter)
