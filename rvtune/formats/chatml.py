"""``chatml``: the ``<|im_start|>`` / ``<|im_end|>`` chat layout, optional system message."""

from . import Formatter


class ChatMLFormatter(Formatter):
    """<|im_start|>user ... <|im_end|> then <|im_start|>assistant ... <|im_end|>."""

    name = "chatml"
    stop_strings = ("<|im_end|>",)

    def render_prompt(self, prompt: str) -> str:
        head = ""
        if self.options.system:
            head = f"<|im_start|>system\n{self.options.system}<|im_end|>\n"
        return head + (
            f"<|im_start|>user\n{self.prompt_text(prompt)}<|im_end|>\n"
            "<|im_start|>assistant\n"
        )

    def render_completion(self, completion: str) -> str:
        return f"{completion}<|im_end|>"
