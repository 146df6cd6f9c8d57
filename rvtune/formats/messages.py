"""Multi-turn chat rows: ``{"messages": [{"role": ..., "content": ...}, ...]}``.

A row with a messages list (OpenAI's and mlx-lm's chat layout, or ShareGPT's
``conversations`` / ``from`` / ``value`` through ``--dataset-option chat=sharegpt``) becomes
one training text and the character spans of its assistant turns; the trainer puts the
loss on those spans only (every turn, or the last with ``--train-on last``).
"""

from rvtune.core.errors import DataError

ROLES = ("system", "user", "assistant")
#: The ``--dataset-option`` keys read here (any dataset adapter accepts them).
CHAT_OPTIONS = ("chat", "messages_field", "role_field", "content_field", "roles")
LAYOUTS = {
    "openai": {"messages_field": "messages", "role_field": "role",
               "content_field": "content", "roles": {}},
    "sharegpt": {"messages_field": "conversations", "role_field": "from",
                 "content_field": "value",
                 "roles": {"human": "user", "gpt": "assistant", "chatgpt": "assistant",
                           "bing": "assistant", "bard": "assistant"}},
}


def chat_layout(options: dict) -> dict:
    """Field names and role names of chat rows, from ``--dataset-option`` values:
    ``chat=openai|sharegpt`` picks a layout; ``messages_field``, ``role_field``,
    ``content_field`` and ``roles`` (``human:user,gpt:assistant``) override parts of it."""
    from rvtune.core.errors import UsageError

    name = str(options.get("chat", "openai"))
    if name not in LAYOUTS:
        raise UsageError(f"--dataset-option chat={name}: use one of {', '.join(LAYOUTS)}")
    layout = {**LAYOUTS[name], "roles": dict(LAYOUTS[name]["roles"])}
    for key in ("messages_field", "role_field", "content_field"):
        if options.get(key):
            layout[key] = str(options[key])
    for pair in str(options.get("roles") or "").split(","):
        if not pair.strip():
            continue
        theirs, _, ours = pair.partition(":")
        if ours.strip() not in ROLES:
            raise UsageError(f"--dataset-option roles={options['roles']}: '{pair.strip()}' "
                             f"must map a role name to one of {', '.join(ROLES)}, like "
                             "human:user")
        layout["roles"][theirs.strip()] = ours.strip()
    return layout


def is_chat_row(row: dict, options: dict) -> bool:
    """True when ``row`` holds a messages list under the layout's field."""
    return isinstance(row, dict) and chat_layout(options)["messages_field"] in row


def read_messages(where: str, row: dict, options: dict) -> list:
    """The row's turns as ``[{"role": ..., "content": ...}]``, checked: known roles, text
    content, at least one assistant turn and a user turn before the first one. A bad row
    is one :class:`DataError` naming row and field."""
    layout = chat_layout(options)
    field, role_key, content_key = (layout["messages_field"], layout["role_field"],
                                    layout["content_field"])
    turns = row[field]
    if not isinstance(turns, list) or not turns:
        raise DataError(f"{where}: field '{field}' must be a non-empty list of turns "
                        f"({{\"{role_key}\": ..., \"{content_key}\": ...}})")
    messages = []
    for index, turn in enumerate(turns):
        at = f"{where}: {field}[{index}]"
        if not isinstance(turn, dict):
            raise DataError(f"{at} is a {type(turn).__name__}, expected an object with "
                            f"'{role_key}' and '{content_key}'")
        for key in (role_key, content_key):
            if key not in turn:
                raise DataError(f"{at} has no '{key}'; fields here: "
                                f"{', '.join(sorted(map(str, turn))) or 'none'} (map others "
                                "with --dataset-option role_field=... content_field=...)")
        role = layout["roles"].get(turn[role_key], turn[role_key])
        if role not in ROLES:
            raise DataError(f"{at}.{role_key}: unknown role {turn[role_key]!r}; use "
                            f"{', '.join(ROLES)} (or map it: --dataset-option "
                            f"roles={turn[role_key]}:user)")
        content = turn[content_key]
        if not isinstance(content, str):
            raise DataError(f"{at}.{content_key} is {type(content).__name__}, expected text")
        if not content.strip():
            raise DataError(f"{at}.{content_key} is empty")
        if role == "system" and messages:
            raise DataError(f"{at}.{role_key}: a system message may only come first")
        messages.append({"role": role, "content": content.strip()})
    roles = [m["role"] for m in messages]
    if "assistant" not in roles:
        raise DataError(f"{where}: field '{field}' has no assistant turn, so there is "
                        "nothing to learn; add one or drop the row")
    if "user" not in roles[:roles.index("assistant")]:
        raise DataError(f"{where}: {field}[{roles.index('assistant')}] is an assistant turn "
                        "with no user turn before it")
    while messages[-1]["role"] != "assistant":  # trailing user turns train nothing
        messages.pop()
    return messages


def render_conversation(formatter, messages: list) -> tuple[str, list]:
    """``(text, spans)``: the whole conversation as the formatter lays it out, and the
    ``[start, end]`` character ranges of its assistant turns (what carries loss)."""
    text, spans = "", []
    for piece, trained in formatter.render_messages(messages):
        if trained and piece:
            spans.append([len(text), len(text) + len(piece)])
        text += piece
    return text, spans


def chat_example(where: str, row: dict, options: dict):
    """The :class:`rvtune.core.datasets.Example` of a chat row: the last user turn as its
    prompt, the last answer as its completion, the whole conversation in ``extra``."""
    from rvtune.core.datasets import Example

    messages = read_messages(where, row, options)
    last_user = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    return Example(last_user, messages[-1]["content"], where, {"messages": messages})


def check_renders(formatter, example) -> None:
    """Refuse, naming the row, a conversation the formatter cannot lay out."""
    messages = example.extra.get("messages")
    if messages:
        try:
            render_conversation(formatter, messages)
        except DataError as exc:
            raise DataError(f"{example.where}: {exc}") from None


def dedupe_prompt(example) -> str:
    """What stands for the prompt when duplicates are found: the whole conversation."""
    messages = example.extra.get("messages") if isinstance(example.extra, dict) else None
    if not messages:
        return example.prompt
    import json

    return json.dumps(messages, ensure_ascii=False)


def format_record(formatter, prompt: str, completion: str, extra: dict) -> dict:
    """A prepared row: ``text`` and ``prefix`` (the text before the last answer), plus
    ``spans`` (the assistant turns' character ranges) for a conversation."""
    messages = extra.get("messages")
    if not messages:
        head, tail = formatter.split(prompt, completion)
        return {"text": head + tail, "prefix": head, "input": prompt, "target": completion,
                **extra}
    text, spans = render_conversation(formatter, messages)
    return {"text": text, "prefix": text[:spans[-1][0]], "spans": spans, "input": prompt,
            "target": completion, **extra}
