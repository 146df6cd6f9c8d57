"""The built-in dataset: layout, determinism, categories, and that every row assembles."""

import shutil
from collections import Counter

import pytest

from rvtune.riscv.generate import generate_rows
from rvtune.riscv.generate_phrases import STYLES
from rvtune.riscv.isa import CATEGORIES, INSTRUCTIONS, by_mnemonic, operand_kinds
from rvtune.riscv.validate import Validator

needs_llvm = pytest.mark.skipif(shutil.which("llvm-mc") is None, reason="needs llvm-mc")


def test_rows_have_the_dataset_layout():
    rows = list(generate_rows(500, seed=3))
    assert len(rows) == 500
    for row in rows:
        assert set(row) == {"description", "instructions", "category", "style", "phrasing",
                            "group"}
        assert row["category"] in CATEGORIES
        assert row["style"] in ("spec", "concrete", "snippet")
        assert row["phrasing"] in STYLES
        mnemonic, template = row["group"].split("|")
        if row["style"] != "snippet":
            assert row["instructions"].split()[0] == mnemonic
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
    assert styles["spec"] > 500 and styles["concrete"] > 1300
    phrasings = Counter(r["phrasing"] for r in rows if r["style"] != "snippet")
    assert set(phrasings) == set(STYLES) and min(phrasings.values()) > 300
    assert len({(r["description"], r["instructions"]) for r in rows}) == len(rows)
    concrete = " ".join(r["instructions"] for r in rows if r["style"] == "concrete")
    assert " x1" in concrete and " a0" in concrete and "fa" in concrete  # xN and ABI names
    snippets = [r for r in rows if r["style"] == "snippet"]
    assert all("\n" in r["instructions"] for r in snippets)


def test_phrasing_varies_for_one_instruction():
    adds = [r for r in generate_rows(6000, seed=0) if r["instructions"].split()[0] == "add"]
    assert len({r["group"] for r in adds}) >= 8  # distinct templates
    assert len({r["description"].split()[0] for r in adds}) >= 6  # distinct openings


def test_every_mnemonic_of_the_table_appears_at_the_default_size():
    for seed in (0, 1):
        rows = list(generate_rows(seed=seed))
        firsts = {r["instructions"].split()[0] for r in rows if r["style"] != "snippet"}
        assert {i.mnemonic for i in INSTRUCTIONS} - firsts == set()


def test_every_instruction_gets_several_phrasing_styles_and_both_operand_styles():
    rows = [r for r in generate_rows(6000, seed=0) if r["style"] != "snippet"]
    styles, operands = {}, {}
    for r in rows:
        m = r["group"].split("|")[0]
        styles.setdefault(m, set()).add(r["phrasing"])
        operands.setdefault(m, set()).add(r["style"])
    few = [m for m, s in styles.items() if len(s) < 2 and not m.startswith(".")]
    assert len(few) <= 0.02 * len(styles)  # a few A and V variants get only ~5 rows
    both = sum(len(s) == 2 for s in operands.values())
    assert both > 0.8 * len(operands)


def test_sibling_mnemonics_are_told_apart_in_the_description():
    rows = [r for r in generate_rows(seed=0) if r["style"] != "snippet"]
    def texts(mnemonic):
        return [r["description"] for r in rows if r["instructions"].split()[0] == mnemonic]
    assert all("unsigned" in t or "zero" in t or "zext" in t for t in texts("lhu"))
    assert all("unsigned 64-bit" in t or "uint64" in t for t in texts("fcvt.lu.s"))
    assert all("32" in t for t in texts("addw"))
    assert all("acquire" in t for t in texts("amoadd.w.aq"))
    spec = {r["description"]: r["instructions"] for r in rows if r["style"] == "spec"}
    assert all("rs1" in t or "scalar" in t for t in texts("vadd.vx") if t in spec)
    assert all("imm" in t for t in texts("vadd.vi") if t in spec)


def test_snippets_keep_scratch_registers_apart_and_ra_inside_the_frame():
    import re
    for r in generate_rows(3000, seed=4):
        if r["group"].startswith("snippet:call-frame"):
            lines = r["instructions"].splitlines()
            size = -int(lines[0].split()[-1])
            slot = int(re.match(r"sd ra, (\d+)\(sp\)", lines[1]).group(1))
            assert 0 <= slot <= size - 8 and lines[-2:] == [f"addi sp, sp, {size}", "ret"]
            assert lines[3] == f"ld ra, {slot}(sp)"
        if r["group"].startswith("snippet:vector-add-loop"):
            regs = re.findall(r"\b(?:[ast]\d+)\b", r["instructions"])
            assert len(set(regs)) == 6  # count, three pointers, vl, step: all different


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
    encoded = {r["style"] for r, x in zip(rows, results) if x.encoding}
    assert encoded == {r["style"] for r in rows}  # every style emits machine code


def test_snippet_registers_a_description_leaves_unnamed_are_the_first_free_temporaries():
    import re
    reg = re.compile(r"\b(?:a[0-7]|t[0-6]|s(?:1[01]|[0-9]))\b")
    kinds = set()
    for r in generate_rows(6000, seed=5):
        if r["style"] != "snippet" or r["group"].startswith(("snippet:save-s0-call",
                                                           "snippet:call-args")):
            continue  # those two use a0/a1/s0 by the calling convention
        kinds.add(r["group"].split("|")[0])
        named = set(reg.findall(r["description"]))
        unnamed = sorted(set(reg.findall(r["instructions"])) - named)
        free = [f"t{i}" for i in range(7) if f"t{i}" not in named]
        assert unnamed == free[:len(unnamed)], r
    assert len(kinds) >= 25
