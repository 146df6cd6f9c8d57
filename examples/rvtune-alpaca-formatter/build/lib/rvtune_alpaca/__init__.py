"""An rvtune plugin adding the ``alpaca`` prompt formatter."""

import rvtune
from rvtune.formats import Formatter


class AlpacaFormatter(Formatter):
    """### Instruction: / ### Response: (the Stanford Alpaca layout)."""

    name = "alpaca"
    stop_strings = ("### Instruction:",)

    def render_prompt(self, prompt):
        return f"### Instruction:\n{self.prompt_text(prompt)}\n\n### Response:\n"

    def render_completion(self, completion):
        return completion


@rvtune.hookimpl
def register_formatters(register):
    register(AlpacaFormatter)
