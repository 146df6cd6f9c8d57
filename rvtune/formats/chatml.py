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

    def render_messages(self, messages: list) -> list:
        """Every turn in ``<|im_start|>role ... <|im_end|>``; an assistant turn's text and
        its ``<|im_end|>`` carry loss, its ``<|im_start|>assistant`` header does not."""
        pieces = []
        if self.options.system and messages[0]["role"] != "system":
            pieces.append((f"<|im_start|>system\n{self.options.system}<|im_end|>\n", False))
        for index, message in enumerate(messages):
            role, content = message["role"], message["content"]
            if role == "assistant":
                pieces.append(("<|im_start|>assistant\n", False))
                pieces.append((self.render_completion(content), True))
                if index < len(messages) - 1:
                    pieces.append(("\n", False))
            else:
                text = self.prompt_text(content) if role == "user" else content
                pieces.append((f"<|im_start|>{role}\n{text}<|im_end|>\n", False))
        return pieces
