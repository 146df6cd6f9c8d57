"""What to evaluate: a run's held-out split, a prepared jsonl, a raw dataset read through the
dataset adapters, or a file of existing predictions."""

from dataclasses import dataclass
from pathlib import Path

from rvtune.core.errors import DataError, UsageError

#: The category of an example whose row has none.
NO_CATEGORY = "uncategorized"


@dataclass
class EvalExample:
    """One prompt to answer and the reference answer to judge it by.

    ``prefix`` is the prompt as a prepared file rendered it (None for raw data);
    ``prediction`` is set only when reading a predictions file.
    """

    prompt: str
    reference: str
    category: str
    where: str
    prefix: str | None = None
    prediction: str | None = None


def held_out_split(run_dir: Path) -> Path:
    """The run's ``data/test.jsonl``, else its ``data/valid.jsonl``."""
    for name in ("test", "valid"):
        path = run_dir / "data" / f"{name}.jsonl"
        if path.is_file() and path.stat().st_size:
            return path
    raise DataError(
        f"--run {run_dir}: no data/test.jsonl or data/valid.jsonl to evaluate on; "
        "pass --data FILE (a prepared jsonl or a dataset)"
    )


def _rows(path: Path, limit: int | None):
    from rvtune.core.datasets import BadRow
    from rvtune.core.jsonl import jsonl_rows

    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    count = 0
    with fh:
        for where, row in jsonl_rows(path, fh):
            if isinstance(row, BadRow):
                raise DataError(row.message)
            if limit is not None and count >= limit:
                return
            count += 1
            yield where, row


def _text(where: str, row: dict, *fields: str, required: bool = True) -> str | None:
    for field in fields:
        value = row.get(field)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "\n".join(value)
        if isinstance(value, str):
            return value
    if not required:
        return None
    have = ", ".join(sorted(map(str, row))) or "none"
    raise DataError(f"{where}: missing field '{fields[0]}' (a string); fields here: {have}")


def _category(row: dict) -> str:
    value = row.get("category")
    return value if isinstance(value, str) and value else NO_CATEGORY


def is_prepared_file(path: Path) -> bool:
    """True for a jsonl written by ``rvtune prepare`` (rows with ``input`` and ``target``)."""
    if path.suffix.lower() != ".jsonl" or not path.is_file():
        return False
    for _, row in _rows(path, 1):
        return "input" in row and "target" in row
    return False


def read_prepared(path: Path, limit: int | None = None) -> list[EvalExample]:
    """Examples from a prepared jsonl (``input``, ``target``, ``prefix``, ``category``)."""
    examples = [
        EvalExample(_text(where, row, "input"), _text(where, row, "target"), _category(row),
                    where, prefix=_text(where, row, "prefix", required=False))
        for where, row in _rows(path, limit)
    ]
    if not examples:
        raise DataError(f"{path}: no examples; is it the right file?")
    return examples


def read_dataset(spec, limit: int | None = None) -> list[EvalExample]:
    """Examples from any dataset source, through the dataset adapter plugins (as ``prepare``)."""
    from rvtune.core.datasets import check_row, choose_adapter
    from rvtune.core.plugins import registry

    adapter = choose_adapter(spec, registry())(spec)
    examples = []
    for where, row in adapter.rows():
        if limit is not None and len(examples) >= limit:
            break
        example = check_row(where, row, spec)
        examples.append(EvalExample(example.prompt, example.completion,
                                    example.extra.get("category") or NO_CATEGORY, where))
    if not examples:
        raise DataError(f"--data {spec.source}: no examples")
    return examples


def read_predictions(path: Path, limit: int | None = None) -> list[EvalExample]:
    """Examples with their predictions: rows of ``reference`` (or ``target``), ``prediction``,
    and optionally ``prompt`` (or ``input``) and ``category``. An ``eval.jsonl`` qualifies."""
    if not path.is_file():
        raise UsageError(f"--predictions {path}: no such file")
    examples = []
    for where, row in _rows(path, limit):
        examples.append(EvalExample(
            _text(where, row, "prompt", "input", required=False) or "",
            _text(where, row, "reference", "target"),
            _category(row), where,
            prediction=_text(where, row, "prediction"),
        ))
    if not examples:
        raise DataError(f"--predictions {path}: no rows; expected one JSON object per line "
                        'with "reference" and "prediction"')
    return examples
