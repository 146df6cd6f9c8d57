"""Prompt formatters: how a (prompt, completion) pair becomes training text.

Every formatter renders the prompt alone (what generation feeds the model) and the
completion that follows it, so training and inference always agree and the trainer can
mask the loss on the prompt part.
"""

from dataclasses import dataclass, replace

from rvtune.core.errors import DataError, UsageError


@dataclass(frozen=True)
class FormatOptions:
    """Options shared by all formatters (a formatter ignores what it does not use)."""

    system: str | None = None
    instruction_template: str | None = None
    tokenizer: str | None = None


def apply_instruction_template(template: str | None, prompt: str) -> str:
    """Wrap ``prompt`` in ``template`` (placeholders ``{description}`` or ``{prompt}``)."""
    if not template:
        return prompt
    if "{description}" not in template and "{prompt}" not in template:
        raise UsageError(
            f"--instruction-template {template!r} has no {{description}} or {{prompt}} "
            "placeholder; add one where the prompt should go"
        )
    # Plain replace, not str.format: assembly text may hold braces.
    return template.replace("{description}", prompt).replace("{prompt}", prompt)


class Formatter:
    """Base class: subclasses define ``name``, ``render_prompt`` and ``render_completion``."""

    name = ""
    #: Strings that end a completion at generation time, besides the tokenizer's EOS.
    stop_strings: tuple = ()
    #: True when rendered text already starts with the tokenizer's BOS token.
    has_bos = False

    def __init__(self, options: FormatOptions | None = None):
        self.options = options or FormatOptions()

    def prompt_text(self, prompt: str) -> str:
        """The user's prompt with the instruction template applied."""
        return apply_instruction_template(self.options.instruction_template, prompt)

    def render_prompt(self, prompt: str) -> str:
        raise NotImplementedError

    def render_completion(self, completion: str) -> str:
        raise NotImplementedError

    def split(self, prompt: str, completion: str) -> tuple[str, str]:
        """The training text as (prompt part, completion part), for loss masking."""
        return self.render_prompt(prompt), self.render_completion(completion)

    def render(self, prompt: str, completion: str) -> str:
        """The full training example."""
        head, tail = self.split(prompt, completion)
        return head + tail

    def render_messages(self, messages: list) -> list:
        """A conversation (``[{"role", "content"}]``, see :mod:`rvtune.formats.messages`) as
        ``(text, trained)`` pieces in order; ``trained`` marks assistant turns, the text
        that carries loss. This default handles one user turn and one answer (after an
        optional system message); chat formatters override it for longer conversations."""
        system = messages[0]["content"] if messages[0]["role"] == "system" else None
        turns = messages[1:] if system is not None else messages
        if [m["role"] for m in turns] != ["user", "assistant"]:
            raise DataError(f"formatter '{self.name}' renders one prompt and one answer, not "
                            f"a conversation of {len(turns)} turns; use --formatter chatml, "
                            "chat-template or plain")
        fmt = self if system is None else type(self)(replace(self.options, system=system))
        head, tail = fmt.split(turns[0]["content"], turns[1]["content"])
        return [(head, False), (tail, True)]

    def describe(self) -> dict:
        """Settings recorded in manifests so a run can be reproduced."""
        return {"name": self.name, **{k: v for k, v in vars(self.options).items() if v}}
