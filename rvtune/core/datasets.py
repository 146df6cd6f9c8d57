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
    """The adapter class for ``spec``: named, a local path, a registered name, or the hub."""
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


def check_row(where: str, row, spec: DatasetSpec) -> Example:
    """Turn a raw row into an :class:`Example`, or raise ``DataError`` naming row and field."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: row is a {type(row).__name__}, expected an object")
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
        values.append(value.strip())
    extra = {k: row[k] for k in KEEP_COLUMNS if isinstance(row.get(k), str)}
    return Example(values[0], values[1], where, extra)
