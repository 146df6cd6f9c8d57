"""Dataset adapters: files of every kind, the hub adapter on a local dataset, choice rules."""

import csv
import json

import pytest

from support import SAMPLE_ROWS, read_jsonl, write_jsonl
from rvtune.core.datasets import DatasetSpec, choose_adapter
from rvtune.core.errors import DataError, UsageError
from rvtune.core.plugins import registry


def rows_of(spec):
    adapter = choose_adapter(spec, registry())(spec)
    return adapter, list(adapter.rows())


def test_jsonl_json_csv_parquet_read_the_same(tmp_path):
    rows = SAMPLE_ROWS[:4]
    write_jsonl(tmp_path / "a.jsonl", rows)
    (tmp_path / "a.json").write_text(json.dumps(rows))
    with open(tmp_path / "a.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["description", "instructions"])
        writer.writeheader()
        writer.writerows(rows)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    for name in ("a.jsonl", "a.json", "a.csv", "a.parquet"):
        adapter, got = rows_of(DatasetSpec(str(tmp_path / name)))
        assert adapter.name == "files"
        assert [r for _, r in got] == rows, name
    assert rows_of(DatasetSpec(str(tmp_path / "a.jsonl")))[1][1][0].endswith("a.jsonl:2")
    assert rows_of(DatasetSpec(str(tmp_path / "a.csv")))[1][0][0].endswith("a.csv:2")


def test_many_files_by_list_glob_and_directory(tmp_path):
    write_jsonl(tmp_path / "p1.jsonl", SAMPLE_ROWS[:2])
    write_jsonl(tmp_path / "p2.jsonl", SAMPLE_ROWS[2:5])
    for source in (f"{tmp_path}/p1.jsonl,{tmp_path}/p2.jsonl", f"{tmp_path}/p*.jsonl",
                   str(tmp_path)):
        assert len(rows_of(DatasetSpec(source))[1]) == 5


def test_field_mapping(rvtune_cli, tmp_path):
    src = write_jsonl(tmp_path / "q.jsonl", [{"q": f"question {i}", "a": f"nop # {i}"}
                                              for i in range(10)])
    proc = rvtune_cli("prepare", "--dataset", src, "--prompt-field", "q",
                      "--completion-field", "a", "--out", tmp_path / "o", "--formatter", "plain")
    assert proc.returncode == 0, proc.stderr
    assert read_jsonl(tmp_path / "o" / "train.jsonl")[0]["text"].startswith("User: question")


def test_hf_adapter_loads_a_local_dataset_with_the_real_datasets_library(tmp_path):
    local = tmp_path / "hub-layout"
    local.mkdir()
    write_jsonl(local / "train.jsonl", SAMPLE_ROWS)
    adapter, got = rows_of(DatasetSpec(str(local), adapter="hf"))
    assert adapter.name == "hf" and len(got) == len(SAMPLE_ROWS)
    assert got[0][1]["instructions"] == "add rd, rs1, rs2"


def test_hub_id_offline_without_cache_names_the_alternatives():
    spec = DatasetSpec("davidpirkl/riscv-instruction-specification")
    adapter_cls = choose_adapter(spec, registry())
    assert adapter_cls.name == "hf"
    with pytest.raises(DataError) as err:
        list(adapter_cls(spec).rows())
    message = str(err.value)
    assert "cannot be reached and nothing is cached" in message
    assert "--dataset riscv" in message and "local file" in message


def test_choice_rules(tmp_path):
    reg = registry()
    assert choose_adapter(DatasetSpec("riscv"), reg).name == "riscv"
    assert choose_adapter(DatasetSpec("someone/some-data"), reg).name == "hf"
    with pytest.raises(UsageError, match="no such file"):
        choose_adapter(DatasetSpec("./missing.jsonl"), reg)
    with pytest.raises(UsageError, match="unknown dataset adapter 'x'.*files, hf, riscv"):
        choose_adapter(DatasetSpec("riscv", adapter="x"), reg)
