"""One jsonl reader (rvtune.core.jsonl): dataset files, eval data and prepared splits say the
same thing about the same bad line."""

import pytest

from rvtune.core.errors import DataError

GOOD = b'{"description": "a", "instructions": "b", "input": "a", "target": "b", "text": "ab"}\n'
BAD = {
    "malformed": (GOOD + b'{oops\n',
                  ":2: malformed JSON (Expecting property name enclosed in double quotes at "
                  "column 2); expected one JSON object per line"),
    "bytes": (GOOD + b'{"input": "\xff"}\n',
              ":2: not UTF-8 text (byte 0xff at column 12); save the file as UTF-8"),
    "array": (GOOD + b'[1, 2]\n',
              ":2: a JSON list, expected an object per line"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_every_reader_words_a_bad_line_the_same(tmp_path, case):
    from rvtune.core.datasets import DatasetSpec
    from rvtune.core.prepare import PrepareConfig, prepare
    from rvtune.evaluation.examples import read_prepared
    from rvtune.training.data import read_rows

    content, words = BAD[case]
    path = tmp_path / "rows.jsonl"
    path.write_bytes(content)
    messages = []
    for read in (lambda: read_prepared(path), lambda: read_rows(path),
                 lambda: prepare(PrepareConfig(DatasetSpec(str(path)), out=str(tmp_path / "o"),
                                               formatter="plain"))):
        with pytest.raises(DataError) as caught:
            read()
        messages.append(str(caught.value))
    assert all(f"{path}{words}" in m for m in messages), messages
