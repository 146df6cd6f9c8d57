"""The hand-written evaluation set riscv-phrasings: coverage, validity, independence from the
generator's wording, and its adapter through the real CLI."""

import json
import re
import shutil
from collections import Counter

import pytest

from support import read_jsonl, run_rvtune
from rvtune.core.datasets import DatasetSpec
from rvtune.plugins.riscv_phrasings import read_phrasings
from rvtune.riscv.isa import INSTRUCTIONS
from rvtune.riscv.validate import Validator

needs_llvm = pytest.mark.skipif(shutil.which("llvm-mc") is None, reason="needs llvm-mc")

STYLES = ("manual", "terse", "question", "task")
ROWS = read_phrasings()


def _near(text: str) -> str:
    # "Nearly equal": the same words and numbers, whatever the case, spacing and punctuation.
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def test_rows_have_the_layout():
    assert len(ROWS) >= 420
    categories = {ins.ext for ins in INSTRUCTIONS} | {"snippet"}
    for row in ROWS:
        assert set(row) == {"description", "instructions", "category", "style", "mnemonic"}
        assert row["description"].strip() and row["instructions"].strip()
        assert row["style"] in STYLES and row["category"] in categories
        if row["category"] == "snippet":
            assert row["mnemonic"] is None and "\n" in row["instructions"]
        else:
            assert row["instructions"].split()[0] == row["mnemonic"]
    assert len({_near(r["description"]) for r in ROWS}) == len(ROWS)


def test_styles_are_mixed_roughly_evenly():
    counts = Counter(r["style"] for r in ROWS)
    assert set(counts) == set(STYLES)
    assert min(counts.values()) >= 0.2 * len(ROWS), counts


def test_every_generator_mnemonic_is_covered_in_its_category():
    category = {}
    for ins in INSTRUCTIONS:
        category.setdefault(ins.mnemonic, ins.ext)
    covered = {r["mnemonic"] for r in ROWS if r["category"] != "snippet"}
    assert sorted(set(category) - covered) == []
    assert all(category[r["mnemonic"]] == r["category"] for r in ROWS if r["mnemonic"])
    assert sum(r["category"] == "snippet" for r in ROWS) >= 10


@needs_llvm
def test_every_reference_assembles_and_task_rows_use_real_operands():
    results = Validator(backend="llvm-mc").check_many([r["instructions"] for r in ROWS])
    bad = [(r["instructions"], x.message) for r, x in zip(ROWS, results) if not x.valid]
    assert bad == []
    # A task row names its registers and values, so substitution must leave it alone (a label
    # called `offset` or a register written `rd` would be a placeholder in disguise).
    changed = [(r["instructions"], x.snippet) for r, x in zip(ROWS, results)
               if r["style"] == "task" and x.snippet != r["instructions"]]
    assert changed == []
    spec_rows = [r for r in ROWS if r["style"] != "task"]
    assert any("rd" in r["instructions"] for r in spec_rows)


def test_no_description_is_one_the_generator_writes():
    from rvtune.riscv.generate import generate_rows

    generated = {_near(row["description"]) for seed in (0, 1, 2)
                 for row in generate_rows(size=3000, seed=seed)}
    assert [r["description"] for r in ROWS if _near(r["description"]) in generated] == []


def test_eval_reads_it_through_the_adapter():
    from rvtune.evaluation.examples import read_dataset

    examples = read_dataset(DatasetSpec("riscv-phrasings"))
    assert len(examples) == len(ROWS)
    assert examples[0].where == "riscv-phrasings[0]"
    assert [e.reference for e in examples] == [r["instructions"] for r in ROWS]
    assert {e.category for e in examples} == {r["category"] for r in ROWS}


def test_prepare_through_the_cli(tmp_path):
    out = tmp_path / "phr"
    proc = run_rvtune("prepare", "--dataset", "riscv-phrasings", "--formatter", "plain",
                      "--out", out, "--valid-fraction", "0", "--test-fraction", "0.5")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["adapter"] == "riscv-phrasings"
    assert manifest["rows_read"] == len(ROWS) and manifest["duplicates_removed"] == 0
    rows = read_jsonl(out / "train.jsonl") + read_jsonl(out / "test.jsonl")
    assert sorted(r["target"] for r in rows) == sorted(r["instructions"] for r in ROWS)
    assert {r["style"] for r in rows} == set(STYLES)


def test_plugins_lists_it():
    proc = run_rvtune("plugins", "--json", check=True)
    plugins = {p["name"]: p for p in json.loads(proc.stdout)}
    entry = plugins["rvtune.plugins.riscv_phrasings"]
    assert entry["builtin"] and entry["status"] == "ok"
    assert entry["registers"] == {"dataset_adapter": ["riscv-phrasings"]}


def test_run_refuses_to_train_on_it(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_rvtune("run", "--dataset", "riscv-phrasings", "--run-dir", run_dir)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "never trained on" in lines[0], proc.stderr
    assert "rvtune eval" in lines[0]
    assert not run_dir.exists()
