"""One reader of JSON-lines files for every caller (dataset files, eval data and predictions,
prepared splits), so the same fault reads the same wherever it is found."""

import json
from collections.abc import Iterator
from pathlib import Path

from .datasets import BadRow, load_json


def jsonl_rows(path: Path, fh=None) -> Iterator[tuple[str, object]]:
    """``(where, row)`` for each non-empty line of ``path`` (read from the binary file object
    ``fh`` when given), ``where`` being ``"path:line"``. A line that is not UTF-8, not JSON or
    not a JSON object comes as a :class:`BadRow` whose message says so; the caller stops or
    skips. A UTF-8 byte-order mark before the first line is dropped."""
    own = fh is None
    fh = open(path, "rb") if own else fh
    try:
        for lineno, raw in enumerate(fh, 1):
            where = f"{path}:{lineno}"
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield where, BadRow(f"{where}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at "
                                    f"column {exc.start + 1}); save the file as UTF-8")
                continue
            if not line.strip():
                continue
            try:
                row = load_json(line)
            except json.JSONDecodeError as exc:
                yield where, BadRow(f"{where}: malformed JSON ({exc.msg} at column "
                                    f"{exc.colno}); expected one JSON object per line")
                continue
            if not isinstance(row, dict):
                yield where, BadRow(f"{where}: a JSON {type(row).__name__}, expected an object "
                                    "per line")
                continue
            yield where, row
    finally:
        if own:
            fh.close()
