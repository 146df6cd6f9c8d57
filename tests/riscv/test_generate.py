"""The built-in dataset: layout, determinism, categories, and that every row assembles."""

import shutil
from collections import Counter

import pytest

from rvtune.riscv.generate import generate_rows
from rvtune.riscv.isa import CATEGORIES, INSTRUCTIONS, by_mnemonic, operand_kinds
from rvtune.riscv.validate import Validator

needs_llvm = pytest.mark.skipif(shutil.which("llvm-mc") is None, reason="needs llvm-mc")


def test_rows_have_the_dataset_layout():
    rows = list(generate_rows(500, seed=3))
    assert len(rows) == 500
    for row in rows:
        assert set(row) == {"description", "instructions", "category", "style"}
        assert row["category"] in CATEGORIES
        assert row["style"] in ("spec", "concrete", "snippet")
        assert row["description"].strip() and row["instructions"].strip()
        assert (row["style"] == "snippet") == (row["category"] == "snippet")


def test_deterministic_for_a_seed_and_different_across_seeds():
    assert list(generate_rows(300, seed=7)) == list(generate_rows(300, seed=7))
    assert list(generate_rows(300, seed=7)) != list(generate_rows(300, seed=8))
    assert list(generate_rows(100, seed=7)) == list(generate_rows(300, seed=7))[:100]


def test_default_size_categories_styles_and_no_duplicates():
    rows = list(generate_rows())
    assert len(rows) == 3000
    cats = Counter(r["category"] for r in rows)
    assert set(cats) == set(CATEGORIES)
    assert 0.10 < cats["snippet"] / len(rows) < 0.20
    styles = Counter(r["style"] for r in rows)
    assert styles["spec"] > 200 and styles["concrete"] > 1500
    assert len({(r["description"], r["instructions"]) for r in rows}) == len(rows)
    concrete = " ".join(r["instructions"] for r in rows if r["style"] == "concrete")
    assert " x1" in concrete and " a0" in concrete and "fa" in concrete  # xN and ABI names
    snippets = [r for r in rows if r["style"] == "snippet"]
    assert all("\n" in r["instructions"] for r in snippets)


def test_concrete_phrasing_varies_for_one_instruction():
    adds = {r["description"].replace(r["instructions"].split()[1].rstrip(","), "D")
            for r in generate_rows(3000, seed=0)
            if r["instructions"].startswith("add ") and r["style"] == "concrete"}
    assert len(adds) >= 10


def test_instruction_table_covers_the_required_extensions():
    exts = {i.ext for i in INSTRUCTIONS}
    assert {"base", "M", "A", "F", "D", "Zicsr", "Zifencei", "C", "V", "pseudo",
            "directive"} <= exts
    table = by_mnemonic()
    for m in ("li", "la", "mv", "not", "neg", "j", "jr", "ret", "call", "nop", "seqz", "snez",
              "beqz", "bnez", "bgt", "ble", "vsetvli", "vle32.v", "vse32.v", "vadd.vv",
              "vadd.vx", "lwu", "addiw", "fence.i", "csrrw", "c.jal"):
        assert m in table, m
    assert operand_kinds("fcvt.w.s") == {"rd": "x", "rs1": "f"}
    assert operand_kinds("c.addi16sp")["imm"] == "c16sp"


@needs_llvm
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_row_assembles(seed):
    rows = list(generate_rows(seed=seed))
    results = Validator(backend="llvm-mc").check_many([r["instructions"] for r in rows])
    bad = [(r, x.message) for r, x in zip(rows, results) if not x.valid]
    assert bad == []
    by_style = {r["style"]: x for r, x in zip(rows, results)}
    assert all(x.encoding for x in by_style.values())
