"""``rvtune eval`` through the real CLI, without a model: --predictions, errors, clobbering."""

import json
import subprocess
import sys

import pytest

from eval_helpers import read_jsonl, write_jsonl

PREDICTIONS = [
    {"reference": "addi a0, a0, 1", "prediction": "addi a0,a0,1", "category": "base",
     "prompt": "Add one to a0."},
    {"reference": "add a0, a1, a2", "prediction": "add a0, a2, a1", "category": "base"},
    {"reference": "lw a0, 8(a1)", "prediction": "lwu a0, 8(a1)", "category": "base"},
    {"reference": "vadd.vv v1, v2, v3", "prediction": "vadd.vv v1, v3, v2", "category": "V"},
    {"reference": "mul a0, a1, a2", "prediction": "frobnicate a0", "category": "M"},
    {"reference": "fle.s a0, fa0, fa1", "prediction": "flt.s a0, fa0, fa1"},
]


@pytest.fixture
def predictions(tmp_path):
    return write_jsonl(tmp_path / "preds.jsonl", PREDICTIONS)


def test_predictions_mode_writes_every_output(rvtune_cli, predictions, tmp_path):
    out = tmp_path / "ev"
    proc = rvtune_cli("eval", "--predictions", predictions, "--out", out, "--trials", 4)
    assert proc.returncode == 0, proc.stderr
    assert "Evaluated 6 examples" in proc.stdout and "exec_match" in proc.stdout
    assert "By category" in proc.stdout
    assert "exec_match undecidable: 1 vector instructions: no RVV emulator" in proc.stdout

    rows = read_jsonl(out / "eval.jsonl")
    assert len(rows) == 6
    first = rows[0]
    for key in ("prompt", "reference", "prediction", "category", "exact", "assembles",
                "encoding_match", "exec_match", "message"):
        assert key in first, key
    assert first["prompt"] == "Add one to a0." and first["exact"] is True
    assert rows[2]["exec_match"] is False and "a0 is" in rows[2]["message"]
    assert rows[3]["exec_match"] is None
    assert rows[3]["exec_reason"] == "vector instructions: no RVV emulator"
    assert rows[4]["operand_form"] is False and rows[4]["mnemonic_first"] is False
    # No category in the row: the reference's extension; flt vs fle told apart.
    assert rows[5]["category"] == "F" and rows[5]["exec_match"] is False
    assert rows[5]["mnemonic_first"] is False and rows[5]["operand_form"] is True
    assert rows[4]["assembles"] is False and "does not assemble" in rows[4]["message"]

    summary = json.loads((out / "eval.json").read_text())
    assert summary["evaluator"] == "riscv" and summary["examples"] == 6
    assert summary["metrics"] == ["exact", "mnemonic_first", "mnemonic_all", "operand_form",
                                  "assembles", "encoding_match", "exec_match"]
    overall = summary["results"]["overall"]
    assert overall["assembles"] == pytest.approx(5 / 6) and overall["exec_undecidable"] == 1
    assert overall["exec_undecidable_causes"] == {"vector instructions: no RVV emulator": 1}
    assert set(summary["results"]["by_category"]) == {"base", "V", "M", "F"}
    assert "comparison" not in summary
    assert summary["settings"]["trials"] == 4

    report = (out / "report.md").read_text()
    assert "## Overall" in report and "## By category" in report
    assert "| exec_match | 40.0% (of 5) |" in report
    assert "| exec_match | vector instructions: no RVV emulator | 1 | V 1 |" in report
    assert "![metrics per category](eval.png)" in report
    assert "lwu a0, 8(a1)" in report  # a failure is quoted with its reason
    assert (out / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_limit_and_refusing_to_clobber(rvtune_cli, predictions, tmp_path):
    out = tmp_path / "ev"
    assert rvtune_cli("eval", "--predictions", predictions, "--out", out, "--limit", 2,
                      "--trials", 1).returncode == 0
    assert len(read_jsonl(out / "eval.jsonl")) == 2
    # The same settings again: allowed (re-running an evaluation is harmless).
    assert rvtune_cli("eval", "--predictions", predictions, "--out", out, "--limit", 2,
                      "--trials", 1).returncode == 0
    proc = rvtune_cli("eval", "--predictions", predictions, "--out", out, "--trials", 1)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f"Error: --out {out}: holds an evaluation with other settings; pass --overwrite "
        "to replace it, or choose another --out")
    assert rvtune_cli("eval", "--predictions", predictions, "--out", out, "--trials", 1,
                      "--overwrite").returncode == 0
    assert len(read_jsonl(out / "eval.jsonl")) == 6


@pytest.mark.parametrize("args, message", [
    ([], "nothing to evaluate: pass --run RUN_DIR"),
    (["--run", "nowhere"], "--run nowhere: no such run directory"),
    (["--model", "m"], "--model needs --data FILE"),
    (["--run", ".", "--model", "m"], "give either --run RUN_DIR or --model MODEL"),
    (["--predictions", "p.jsonl", "--run", "."], "--predictions scores an existing file "
                                                 "without a model; drop --run"),
    (["--predictions", "p.jsonl", "--batch-size", "0"], "--batch-size 0: must be at least 1"),
    (["--predictions", "p.jsonl", "--evaluator", "nope"], "unknown evaluator 'nope'"),
    (["--predictions", "missing.jsonl"], "--predictions missing.jsonl: no such file"),
])
def test_usage_errors_are_one_line(rvtune_cli, tmp_path, args, message):
    write_jsonl(tmp_path / "p.jsonl", PREDICTIONS[:1])
    proc = rvtune_cli("eval", *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], lines


def test_bad_predictions_file_names_the_line(rvtune_cli, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"reference": "nop", "prediction": "nop"}\n{"reference": "nop"}\n')
    proc = rvtune_cli("eval", "--predictions", path, "--out", tmp_path / "o")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"Error: {path}:2: missing field 'prediction' (a string); "
                                   "fields here: reference")


def test_eval_help_imports_no_heavy_library():
    probe = ("import sys\nfrom rvtune.cli import main\ntry:\n    main(['eval', '--help'])\n"
             "except SystemExit:\n    pass\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
             "{'mlx', 'mlx_lm', 'datasets', 'transformers', 'torch', 'matplotlib'})\n"
             "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert "--compare-base / --no-compare-base" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "HEAVY="


def test_a_missing_dependency_is_one_line_that_names_it(rvtune_cli, predictions, tmp_path):
    """rvtune run by a Python without one of its dependencies (here unicorn, which exec_match
    needs): one line naming the module and the interpreter, exit 1, no traceback."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['unicorn'] = None\n")
    proc = rvtune_cli("eval", "--predictions", predictions, "--out", tmp_path / "ev",
                      env={"PYTHONPATH": str(hide)})
    assert proc.returncode == 1, proc.stderr
    assert "Error: the Python module 'unicorn' is not installed for" in proc.stderr
    assert "pip install" in proc.stderr and "Traceback" not in proc.stderr
