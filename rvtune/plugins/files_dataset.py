"""The ``files`` dataset adapter: local .jsonl, .json, .csv and .parquet files."""

import csv
import json
from pathlib import Path

import rvtune
from rvtune.core.datasets import load_json
from rvtune.core.errors import DataError, UsageError

SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


def _expand(source: str) -> list[Path]:
    paths = []
    for part in source.split(","):
        path = Path(part.strip()).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
            if not found:
                raise UsageError(
                    f"--dataset {path}: directory holds no {', '.join(SUFFIXES)} files"
                )
            paths.extend(found)
        elif any(ch in path.name for ch in "*?["):
            found = sorted(path.parent.glob(path.name))
            if not found:
                raise UsageError(f"--dataset {path}: the pattern matches no file")
            paths.extend(found)
        else:
            paths.append(path)
    for path in paths:
        if not path.exists():
            raise UsageError(f"--dataset {path}: no such file")
        if path.suffix.lower() not in SUFFIXES:
            raise UsageError(
                f"--dataset {path}: unsupported file type '{path.suffix}'; "
                f"use one of {', '.join(SUFFIXES)}"
            )
    return paths


def _open(path: Path, binary: bool = False):
    try:
        if binary:
            return open(path, "rb")
        # utf-8-sig: a byte-order mark at the start (Windows editors write one) is dropped.
        return open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise UsageError(f"--dataset {path}: cannot read ({exc.strerror})") from exc


def _jsonl_rows(path: Path):
    """One row per line; an undecodable or malformed line is a :class:`BadRow`, so
    ``--on-bad-row skip`` skips it and the rest of the file is still read."""
    from rvtune.core.jsonl import jsonl_rows

    with _open(path, binary=True) as fh:
        yield from jsonl_rows(path, fh)


def _json_rows(path: Path):
    with _open(path) as fh:
        try:
            data = load_json(fh.read())
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}:{exc.lineno}: malformed JSON ({exc.msg} at column {exc.colno})"
            ) from None
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text (at byte {exc.start}); save the file as "
                            "UTF-8") from None
    if isinstance(data, dict):  # {"data": [...]} or {"train": [...]} layouts
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise DataError(f"{path}: expected a list of rows at the top level")
        data = lists[0]
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a list of rows at the top level")
    for index, row in enumerate(data):
        yield f"{path}[{index}]", row


def _csv_rows(path: Path):
    with _open(path) as fh:
        reader = csv.DictReader(fh)
        try:
            for row in reader:
                yield f"{path}:{reader.line_num}", row
        except UnicodeDecodeError:
            # A CSV record may span lines, so reading cannot resume after bad bytes.
            raise DataError(f"{path}:{reader.line_num + 1}: not UTF-8 text; save the file as "
                            "UTF-8") from None
        except csv.Error as exc:
            raise DataError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None


def _parquet_rows(path: Path):
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(str(path))
    except Exception as exc:
        raise DataError(f"{path}: not a readable parquet file ({exc})") from None
    index = 0
    for batch in table.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            yield f"{path}[{index}]", row
            index += 1


READERS = {".jsonl": _jsonl_rows, ".json": _json_rows, ".csv": _csv_rows, ".parquet": _parquet_rows}


class FilesDataset:
    """Local .jsonl, .json, .csv or .parquet files (comma-separated, a folder, or a glob)."""

    name = "files"
    options = ()  # the --dataset-option keys it reads

    def __init__(self, spec):
        self.spec = spec
        self.paths = _expand(spec.source)

    @classmethod
    def claims(cls, source: str) -> bool:
        first = Path(source.split(",")[0].strip()).expanduser()
        return first.exists() or any(ch in first.name for ch in "*?[")

    def rows(self):
        for path in self.paths:
            yield from READERS[path.suffix.lower()](path)


@rvtune.hookimpl
def register_dataset_adapters(register):
    register(FilesDataset)
