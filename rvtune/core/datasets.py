"""Choosing a dataset adapter for a ``--dataset`` value, and checking the rows it yields."""

from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError, UsageError

DEFAULT_DATASET = "davidpirkl/riscv-instruction-specification"
DEFAULT_PROMPT_FIELD = "description"
DEFAULT_COMPLETION_FIELD = "instructions"


@dataclass
class DatasetSpec:
    """Where the data comes from and how to read it; adapters take what they need."""

    source: str = DEFAULT_DATASET
    adapter: str | None = None
    prompt_field: str = DEFAULT_PROMPT_FIELD
    completion_field: str = DEFAULT_COMPLETION_FIELD
    split: str = "train"
    revision: str | None = None
    config_name: str | None = None
    size: int | None = None
    seed: int = 0
    options: dict = field(default_factory=dict)


@dataclass
class Example:
    """One checked row: the prompt, the completion and the columns kept beside them."""

    prompt: str
    completion: str
    where: str
    extra: dict = field(default_factory=dict)


def choose_adapter(spec: DatasetSpec, registry):
    """The adapter class for ``spec``: named, a local path, a registered name, or the hub.

    An adapter that declares ``options`` (the ``--dataset-option`` keys it reads) refuses
    any other key, so a misspelled option is not silently ignored."""
    if not str(spec.source or "").strip() and not spec.adapter:
        raise UsageError("--dataset is empty; give a file, a directory, 'riscv' or a hub id")
    if spec.size is not None and spec.size < 1:
        raise UsageError(f"--dataset-size {spec.size}: must be 1 or more")
    adapter = _choose_adapter(spec, registry)
    known = getattr(adapter, "options", None)
    if known is not None:
        from rvtune.formats.messages import CHAT_OPTIONS

        known = tuple(known) + CHAT_OPTIONS
        unknown = sorted(set(spec.options) - set(known))
        if unknown:
            accepted = ", ".join(known) if known else "none"
            raise UsageError(f"--dataset-option {unknown[0]}: the '{adapter.name}' dataset "
                             f"adapter has no such option; it takes: {accepted}")
    return adapter


def _choose_adapter(spec: DatasetSpec, registry):
    if spec.adapter:
        return registry.get("dataset_adapter", spec.adapter, option="--dataset-adapter")
    names = registry.names("dataset_adapter")
    if spec.source in names and not Path(spec.source).exists():
        return registry.get("dataset_adapter", spec.source)
    for name in names:
        adapter = registry.get("dataset_adapter", name)
        claims = getattr(adapter, "claims", None)
        if claims is not None and claims(spec.source):
            return adapter
    if _looks_like_path(spec.source):
        raise UsageError(
            f"--dataset {spec.source}: no such file or directory; give an existing "
            ".jsonl/.json/.csv/.parquet file, the built-in dataset 'riscv', or a hub id"
        )
    return registry.get("dataset_adapter", "hf")


def _looks_like_path(source: str) -> bool:
    return source.startswith((".", "/", "~")) or Path(source).suffix.lower() in {
        ".jsonl", ".json", ".csv", ".parquet",
    }


KEEP_COLUMNS = ("category", "style")


def load_json(text: str):
    """``json.loads`` whose every failure is a ``json.JSONDecodeError``: nesting too deep for
    the parser, or a number too long to convert, included (a row, never a crash)."""
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise json.JSONDecodeError(str(exc).split(";")[0], text, 0) from None


class BadRow:
    """What an adapter yields for a row it could not read (bad bytes, malformed JSON), so
    that ``--on-bad-row skip`` skips it like any other bad row."""

    def __init__(self, message: str):
        self.message = message


#: Longest prompt or completion accepted, in characters: longer rows are refused before
#: anything tokenizes them (a 30 MB row takes minutes to tokenize and is never useful).
MAX_FIELD_CHARS = 1_000_000


def check_row(where: str, row, spec: DatasetSpec) -> Example:
    """Turn a raw row into an :class:`Example`, or raise ``DataError`` naming row and field."""
    if isinstance(row, BadRow):
        raise DataError(row.message)
    if not isinstance(row, dict):
        raise DataError(f"{where}: row is a {type(row).__name__}, expected an object")
    from rvtune.formats.messages import chat_example, is_chat_row

    if is_chat_row(row, spec.options):
        example = chat_example(where, row, spec.options)
        for role, text in (("prompt", example.prompt), ("completion", example.completion)):
            if isinstance(text, str) and len(text) > MAX_FIELD_CHARS:
                raise DataError(f"{where}: the conversation's {role} is {len(text):,} "
                                f"characters, over the {MAX_FIELD_CHARS:,} rvtune accepts; "
                                "shorten the row")
        return example
    values = []
    for role, fld in (("prompt", spec.prompt_field), ("completion", spec.completion_field)):
        if fld not in row:
            have = ", ".join(sorted(map(str, row))) or "none"
            raise DataError(
                f"{where}: missing field '{fld}' (the {role}); fields here: {have}. "
                f"Map another with --{role}-field"
            )
        value = row[fld]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            value = "\n".join(value)
        if not isinstance(value, str):
            raise DataError(
                f"{where}: field '{fld}' is {type(value).__name__}, expected a string"
            )
        if not value.strip():
            raise DataError(f"{where}: field '{fld}' is empty")
        if len(value) > MAX_FIELD_CHARS:
            raise DataError(f"{where}: field '{fld}' is {len(value):,} characters, over the "
                            f"{MAX_FIELD_CHARS:,} rvtune accepts; shorten the row")
        values.append(value.strip())
    extra = {k: row[k] for k in KEEP_COLUMNS if isinstance(row.get(k), str)}
    return Example(values[0], values[1], where, extra)
