"""Built-in prompt formatters: plain, chatml, chat-template."""

import rvtune
from rvtune.formats.chat_template import ChatTemplateFormatter
from rvtune.formats.chatml import ChatMLFormatter
from rvtune.formats.plain import PlainFormatter


@rvtune.hookimpl
def register_formatters(register):
    register(PlainFormatter)
    register(ChatMLFormatter)
    register(ChatTemplateFormatter)
