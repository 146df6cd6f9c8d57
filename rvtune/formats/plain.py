"""``plain``: ``User: {prompt}\\nAssistant: {completion}``."""

from . import Formatter


class PlainFormatter(Formatter):
    """User: {prompt}\\nAssistant: {completion} (no special tokens)."""

    name = "plain"
    stop_strings = ("\nUser:",)

    def render_prompt(self, prompt: str) -> str:
        # The space after "Assistant:" belongs to the completion: sentencepiece-style
        # tokenizers fold a leading space into the next word's token, so a prompt that
        # ended in a bare space would leave generation on an unnatural token boundary.
        head = f"User: {self.prompt_text(prompt)}\nAssistant:"
        if self.options.system:
            head = f"System: {self.options.system}\n" + head
        return head

    def render_completion(self, completion: str) -> str:
        return f" {completion}"
