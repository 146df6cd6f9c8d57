"""``chat-template``: the model's own tokenizer chat template (e.g. Mistral's [INST])."""

from pathlib import Path

from rvtune.core.errors import DataError, UsageError

from . import Formatter


def load_tokenizer(name_or_path: str):
    """Load only a tokenizer, from a local directory or the Hugging Face cache (offline)."""
    from transformers import AutoTokenizer

    local = Path(name_or_path).expanduser()
    try:
        if local.exists():
            return AutoTokenizer.from_pretrained(str(local))
        return AutoTokenizer.from_pretrained(name_or_path, local_files_only=True)
    except Exception as exc:
        raise UsageError(
            f"cannot load a tokenizer from '{name_or_path}' ({type(exc).__name__}); "
            "pass --tokenizer with a local model directory, or download the model first "
            "(hf download MODEL)"
        ) from exc


class ChatTemplateFormatter(Formatter):
    """The tokenizer's own chat template (needs --tokenizer or a model)."""

    name = "chat-template"
    has_bos = True

    def __init__(self, options=None):
        super().__init__(options)
        if not self.options.tokenizer:
            raise UsageError(
                "formatter 'chat-template' needs a tokenizer: pass --tokenizer PATH_OR_ID "
                "(a local model directory or a cached hub id)"
            )
        self.tokenizer = load_tokenizer(self.options.tokenizer)
        if not getattr(self.tokenizer, "chat_template", None):
            raise UsageError(
                f"tokenizer '{self.options.tokenizer}' has no chat template; "
                "use --formatter chatml or plain"
            )
        eos = getattr(self.tokenizer, "eos_token", None)
        self.stop_strings = (eos,) if eos else ()

    def _messages(self, prompt: str) -> list:
        messages = [{"role": "user", "content": self.prompt_text(prompt)}]
        if self.options.system:
            messages.insert(0, {"role": "system", "content": self.options.system})
        return messages

    def render_prompt(self, prompt: str) -> str:
        return self.tokenizer.apply_chat_template(
            self._messages(prompt), tokenize=False, add_generation_prompt=True
        )

    def split(self, prompt: str, completion: str) -> tuple[str, str]:
        head = self.render_prompt(prompt)
        full = self.tokenizer.apply_chat_template(
            self._messages(prompt) + [{"role": "assistant", "content": completion}],
            tokenize=False,
        )
        if not full.startswith(head):
            raise DataError(
                f"the chat template of '{self.options.tokenizer}' does not render the "
                "prompt as a prefix of the full conversation, so the prompt cannot be "
                "masked; use --formatter chatml or plain"
            )
        return head, full[len(head):]

    def render_completion(self, completion: str) -> str:
        return self.split("", completion)[1]

    def render_messages(self, messages: list) -> list:
        """The template applied to ever longer prefixes of the conversation: what each
        assistant turn adds (up to the next turn) carries loss. Refused when the template
        rewrites earlier turns as the conversation grows."""
        messages = [dict(m) for m in messages]
        for message in messages:
            if message["role"] == "user":
                message["content"] = self.prompt_text(message["content"])
        if self.options.system and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": self.options.system})
        pieces, done = [], ""
        for index, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            head = self.tokenizer.apply_chat_template(messages[:index], tokenize=False,
                                                      add_generation_prompt=True)
            full = self.tokenizer.apply_chat_template(messages[:index + 1], tokenize=False)
            if not head.startswith(done) or not full.startswith(head):
                raise DataError(
                    f"the chat template of '{self.options.tokenizer}' renders turn {index} "
                    "differently once later turns follow, so its assistant turns cannot be "
                    "masked; use --formatter chatml or plain")
            pieces += [(head[len(done):], False), (full[len(head):], True)]
            done = full
        return pieces
