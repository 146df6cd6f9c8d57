"""`rvtune prepare` on the built-in RISC-V dataset and with `--filter assembles`."""

import json

from support import read_jsonl, write_jsonl


def test_builtin_dataset_prepares_like_any_source(rvtune_cli, tmp_path):
    out = tmp_path / "rv"
    proc = rvtune_cli("prepare", "--dataset", "riscv", "--dataset-size", "400",
                      "--formatter", "plain", "--out", out, "--test-fraction", "0.1")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["adapter"] == "riscv"
    assert manifest["counts"] == {"train": 320, "valid": 40, "test": 40}
    rows = read_jsonl(out / "train.jsonl")
    assert {r["style"] for r in rows} == {"spec", "concrete", "snippet"}
    assert {"base", "pseudo", "snippet"} <= {r["category"] for r in rows}
    assert all(r["text"] == f"User: {r['input']}\nAssistant: {r['target']}" for r in rows)


def test_filter_assembles_drops_and_lists_pseudo_code(rvtune_cli, tmp_path):
    rows = [
        {"description": "Add", "instructions": "add rd, rs1, rs2"},
        {"description": "Add, as pseudo-code", "instructions": "x[rd] = x[rs1] + x[rs2]"},
        {"description": "A bare mnemonic", "instructions": "add"},
        {"description": "Two joined by +", "instructions": "lui rd, imm + addi rd, rd, imm"},
        {"description": "Load", "instructions": "lw rd, offset(rs1)"},
        {"description": "Subtract", "instructions": "sub a0, a1, a2"},
        {"description": "Out of range", "instructions": "addi a0, a0, 5000"},
    ]
    src = write_jsonl(tmp_path / "hf-like.jsonl", rows)
    out = tmp_path / "o"
    proc = rvtune_cli("prepare", "--dataset", src, "--filter", "assembles", "--out", out,
                      "--valid-fraction", "0.3")
    assert proc.returncode == 0, proc.stderr
    assert "4 dropped by --filter assembles" in proc.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    dropped = manifest["filters"]["assembles"]
    assert dropped["dropped"] == 4
    assert [d["where"].rsplit(":", 1)[1] for d in dropped["rows"]] == ["2", "3", "4", "7"]
    assert all(d["message"] for d in dropped["rows"])
    kept = read_jsonl(out / "train.jsonl") + read_jsonl(out / "valid.jsonl")
    assert sorted(r["target"] for r in kept) == [
        "add rd, rs1, rs2", "lw rd, offset(rs1)", "sub a0, a1, a2"]


def test_every_dropped_row_is_listed_in_dropped_jsonl(rvtune_cli, tmp_path):
    rows = [{"description": f"Pseudo-code {i}", "instructions": f"x[rd] = x[rs1] + {i}"}
            for i in range(150)]
    rows += [{"description": "Add", "instructions": "add rd, rs1, rs2"},
             {"description": "Move", "instructions": "mv rd, rs"},
             {"description": "Reads a file", "instructions": '.incbin "/etc/hostname"'},
             {"description": "no target"}]
    src = write_jsonl(tmp_path / "many.jsonl", rows)
    out = tmp_path / "o"
    proc = rvtune_cli("prepare", "--dataset", src, "--filter", "assembles", "--out", out,
                      "--valid-fraction", "0.3", "--on-bad-row", "skip")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["filters"]["assembles"]["dropped"] == 151
    assert manifest["dropped_rows"] == {"file": "dropped.jsonl", "count": 152}
    assert "dropped.jsonl" in proc.stdout
    dropped = read_jsonl(out / "dropped.jsonl")
    assert len(dropped) == 152
    assert sorted(d["reason"] for d in dropped).count("assembles") == 151
    assert {d["reason"] for d in dropped} == {"assembles", "bad_row"}
    assert all(d["key"] and d["message"] for d in dropped)
    incbin = next(d for d in dropped if "incbin" in d.get("target", ""))
    assert incbin["message"].startswith("refused: '.incbin' reads a file")
    kept = read_jsonl(out / "train.jsonl") + read_jsonl(out / "valid.jsonl")
    assert sorted(r["target"] for r in kept) == ["add rd, rs1, rs2", "mv rd, rs"]
