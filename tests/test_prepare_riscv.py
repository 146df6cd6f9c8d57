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
    counts = manifest["counts"]  # whole phrasing groups go to valid/test: sizes overshoot a bit
    assert sum(counts.values()) == 400
    assert 40 <= counts["valid"] <= 46 and 40 <= counts["test"] <= 46
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


def test_holdout_keeps_whole_groups_out_of_training(rvtune_cli, tmp_path):
    seen = {}
    for holdout in ("phrasing", "instruction", "row"):
        out = tmp_path / holdout
        proc = rvtune_cli("prepare", "--dataset", "riscv", "--dataset-size", "600",
                          "--dataset-option", f"holdout={holdout}", "--formatter", "plain",
                          "--out", out, "--test-fraction", "0.1")
        assert proc.returncode == 0, proc.stderr
        manifest = json.loads((out / "manifest.json").read_text())
        counts = manifest["counts"]
        assert sum(counts.values()) == 600 and 45 <= counts["valid"] <= 90
        splits = {s: read_jsonl(out / f"{s}.jsonl") for s in ("train", "valid", "test")}
        if holdout == "row":
            assert "group" not in splits["train"][0] and "split_by" not in manifest
            continue
        groups = {s: {r["group"] for r in rows} for s, rows in splits.items()}
        assert not groups["train"] & groups["valid"] and not groups["train"] & groups["test"]
        assert not groups["valid"] & groups["test"]
        assert manifest["split_by"] == "group"
        assert manifest["split_groups"]["valid"] == len(groups["valid"])
        seen[holdout] = groups
    held = seen["instruction"]["valid"] | seen["instruction"]["test"]
    assert all("|" not in g for g in held)  # whole mnemonics (or snippet kinds) held out


def test_group_split_is_deterministic_and_seeded(rvtune_cli, tmp_path):
    rows = [{"description": f"d{i}", "instructions": f"addi a0, a0, {i}", "group": f"g{i % 20}"}
            for i in range(200)]
    src = write_jsonl(tmp_path / "grouped.jsonl", rows)
    valids = []
    for seed, name in ((0, "a"), (0, "b"), (1, "c")):
        out = tmp_path / name
        proc = rvtune_cli("prepare", "--dataset", src, "--formatter", "plain", "--out", out,
                          "--seed", str(seed), "--valid-fraction", "0.2")
        assert proc.returncode == 0, proc.stderr
        valid = read_jsonl(out / "valid.jsonl")
        assert len(valid) == 40  # four whole groups of ten
        valids.append({r["group"] for r in valid})
        assert not valids[-1] & {r["group"] for r in read_jsonl(out / "train.jsonl")}
    assert valids[0] == valids[1] and valids[0] != valids[2]


def test_bad_holdout_option_is_one_line(rvtune_cli, tmp_path):
    proc = rvtune_cli("prepare", "--dataset", "riscv", "--dataset-option", "holdout=mnemonic",
                      "--out", tmp_path / "x")
    assert proc.returncode != 0 and "holdout=mnemonic" in proc.stderr
