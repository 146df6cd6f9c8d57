"""`rvtune prepare` through the real CLI: outputs, determinism, and every bad input."""

import json

import pytest

from support import SAMPLE_ROWS, read_jsonl, write_jsonl


def prepare(cli, *args, **kw):
    return cli("prepare", *args, **kw)


def test_plain_output_is_byte_exact_and_split_is_complete(rvtune_cli, sample_jsonl, tmp_path):
    out = tmp_path / "plain"
    proc = prepare(rvtune_cli, "--dataset", sample_jsonl, "--formatter", "plain",
                   "--out", out, "--valid-fraction", "0.2", "--test-fraction", "0.1")
    assert proc.returncode == 0, proc.stderr
    assert "1 duplicates removed" in proc.stdout
    rows = {s: read_jsonl(out / f"{s}.jsonl") for s in ("train", "valid", "test")}
    assert [len(rows[s]) for s in ("train", "valid", "test")] == [7, 2, 1]
    all_rows = rows["train"] + rows["valid"] + rows["test"]
    unique = {(r["description"], r["instructions"]) for r in SAMPLE_ROWS}
    assert {(r["input"], r["target"]) for r in all_rows} == unique
    for r in all_rows:
        assert r["text"] == f"User: {r['input']}\nAssistant: {r['target']}"
        assert r["prefix"] == f"User: {r['input']}\nAssistant:"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"train": 7, "valid": 2, "test": 1}
    assert manifest["duplicates_removed"] == 1 and manifest["rows_read"] == 11
    assert manifest["formatter"]["name"] == "plain" and manifest["seed"] == 0
    assert manifest["source"] == str(sample_jsonl)


def test_chatml_output_is_byte_exact(rvtune_cli, sample_jsonl, tmp_path):
    out = tmp_path / "chatml"
    assert prepare(rvtune_cli, "--dataset", sample_jsonl, "--formatter", "chatml",
                   "--out", out, "--system", "You write RISC-V.").returncode == 0
    for r in read_jsonl(out / "train.jsonl"):
        assert r["text"] == (
            "<|im_start|>system\nYou write RISC-V.<|im_end|>\n"
            f"<|im_start|>user\n{r['input']}<|im_end|>\n"
            f"<|im_start|>assistant\n{r['target']}<|im_end|>")
        assert r["text"].startswith(r["prefix"])


def test_split_is_deterministic_by_seed(rvtune_cli, sample_jsonl, tmp_path):
    def split(seed, name):
        out = tmp_path / name
        assert prepare(rvtune_cli, "--dataset", sample_jsonl, "--out", out, "--seed", seed,
                       "--valid-fraction", "0.3").returncode == 0
        return [r["input"] for r in read_jsonl(out / "valid.jsonl")]

    assert split(1, "a") == split(1, "b")
    assert any(split(s, f"s{s}") != split(1, "a") for s in (2, 3, 4))


def test_rerun_same_settings_is_allowed_other_settings_refused(rvtune_cli, sample_jsonl,
                                                               tmp_path):
    out = tmp_path / "d"
    assert prepare(rvtune_cli, "--dataset", sample_jsonl, "--out", out).returncode == 0
    before = (out / "train.jsonl").read_text()
    assert prepare(rvtune_cli, "--dataset", sample_jsonl, "--out", out).returncode == 0
    proc = prepare(rvtune_cli, "--dataset", sample_jsonl, "--out", out, "--formatter", "plain")
    assert proc.returncode != 0
    assert "--overwrite" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "train.jsonl").read_text() == before  # nothing the user had is lost
    assert prepare(rvtune_cli, "--dataset", sample_jsonl, "--out", out, "--formatter",
                   "plain", "--overwrite").returncode == 0
    assert (out / "train.jsonl").read_text().startswith('{"text": "User: ')


def test_foreign_directory_is_refused(rvtune_cli, sample_jsonl, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    proc = prepare(rvtune_cli, "--dataset", sample_jsonl, "--out", out)
    assert proc.returncode != 0 and "not an rvtune data directory" in proc.stderr
    assert (out / "notes.txt").read_text() == "keep me"


def one_line_error(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("Error")]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("bad_row, needles", [
    ({"description": "no target"}, ["missing field 'instructions'", ":2"]),
    ({"description": "x", "instructions": 42}, ["'instructions' is int", ":2"]),
    ({"description": "  ", "instructions": "add a0,a0,a0"}, ["'description' is empty", ":2"]),
])
def test_bad_rows_fail_with_file_and_line(rvtune_cli, tmp_path, bad_row, needles):
    src = write_jsonl(tmp_path / "bad.jsonl", [SAMPLE_ROWS[0], bad_row, SAMPLE_ROWS[1]])
    out = tmp_path / "out"
    proc = prepare(rvtune_cli, "--dataset", src, "--out", out)
    one_line_error(proc, str(src), *needles)
    assert not out.exists() or not any(out.iterdir())  # never a half-written output


def test_bad_rows_can_be_skipped_and_counted(rvtune_cli, tmp_path):
    rows = SAMPLE_ROWS[:5] + [{"description": "x"}, {"description": "y", "instructions": ""}]
    src = write_jsonl(tmp_path / "bad.jsonl", rows)
    proc = prepare(rvtune_cli, "--dataset", src, "--out", tmp_path / "o", "--on-bad-row", "skip")
    assert proc.returncode == 0, proc.stderr
    assert "2 bad rows skipped" in proc.stdout
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["bad_rows_skipped"] == 2 and len(manifest["bad_rows"]) == 2


def test_malformed_json_names_file_and_line(rvtune_cli, tmp_path):
    src = tmp_path / "broken.jsonl"
    src.write_text(json.dumps(SAMPLE_ROWS[0]) + "\n" + '{"description": "x", \n')
    one_line_error(prepare(rvtune_cli, "--dataset", src, "--out", tmp_path / "o"),
                   f"{src}:2", "malformed JSON")


def test_unknown_formatter_and_adapter_list_what_exists(rvtune_cli, sample_jsonl, tmp_path):
    line = one_line_error(prepare(rvtune_cli, "--dataset", sample_jsonl, "--formatter", "nope",
                                  "--out", tmp_path / "o"), "unknown formatter 'nope'")
    assert "chatml" in line and "plain" in line
    line = one_line_error(prepare(rvtune_cli, "--dataset", sample_jsonl, "--dataset-adapter", "nope",
                                  "--out", tmp_path / "o"), "unknown dataset adapter 'nope'")
    assert "files" in line and "riscv" in line


def test_missing_and_unreadable_paths(rvtune_cli, tmp_path):
    one_line_error(prepare(rvtune_cli, "--dataset", tmp_path / "nope.jsonl",
                           "--out", tmp_path / "o"), "no such file")
    weird = tmp_path / "data.txt"
    weird.write_text("hello")
    one_line_error(prepare(rvtune_cli, "--dataset", weird, "--out", tmp_path / "o"),
                   "unsupported file type")
    unreadable = write_jsonl(tmp_path / "locked.jsonl", SAMPLE_ROWS)
    unreadable.chmod(0)
    try:
        with open(unreadable):
            pytest.skip("running with permissions that ignore chmod 0 (root)")
    except PermissionError:
        one_line_error(prepare(rvtune_cli, "--dataset", unreadable, "--out", tmp_path / "o"),
                       "cannot read")


def test_empty_dataset_and_too_small_for_split(rvtune_cli, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    one_line_error(prepare(rvtune_cli, "--dataset", empty, "--out", tmp_path / "o"),
                   "no usable rows")
    one = write_jsonl(tmp_path / "one.jsonl", SAMPLE_ROWS[:1])
    one_line_error(prepare(rvtune_cli, "--dataset", one, "--out", tmp_path / "o"),
                   "too few for a 0.1 validation")


def test_debug_shows_the_traceback(rvtune_cli, tmp_path):
    proc = rvtune_cli("--debug", "prepare", "--dataset", tmp_path / "nope.jsonl",
                      "--out", tmp_path / "o")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_large_dataset_streams(tmp_path):
    """100k rows go through in one pass each; memory is checked by the benchmark."""
    from rvtune.core.datasets import DatasetSpec
    from rvtune.core.prepare import PrepareConfig, prepare as run_prepare

    src = tmp_path / "big.jsonl"
    with open(src, "w") as fh:
        for i in range(20000):
            fh.write(json.dumps({"description": f"add {i}", "instructions": f"addi a0, a0, {i % 2048}"}) + "\n")
    result = run_prepare(PrepareConfig(DatasetSpec(str(src)), out=str(tmp_path / "o"),
                                       formatter="plain"))
    assert result.counts == {"train": 18000, "valid": 2000}
