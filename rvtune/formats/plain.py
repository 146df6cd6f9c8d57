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

    def render_messages(self, messages: list) -> list:
        """``System:``/``User:`` lines, then ``Assistant:`` and the answer; an answer and
        the newline that ends it (before the next ``User:``) carry loss."""
        pieces = []
        system = self.options.system
        for index, message in enumerate(messages):
            role, content = message["role"], message["content"]
            if role == "system":
                system = content
            elif role == "user":
                pieces.append((f"User: {self.prompt_text(content)}\n", False))
            else:
                last = index == len(messages) - 1
                pieces.append(("Assistant:", False))
                pieces.append((self.render_completion(content) + ("" if last else "\n"), True))
        if system:
            pieces.insert(0, (f"System: {system}\n", False))
        return pieces
