"""A corpus of a few hundred bad inputs across every command, run in-process through the real
click command tree (CliRunner): each must give one ``Error:`` line, exit 1, 2 or 75 (never
70, the code of an unexpected error), no traceback, and leave no output behind.

The corpus is generated: data-file corruptions x file types, bad option values x options,
broken config files, broken adapters and predictions files.
"""

import json
import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import SAMPLE_ROWS

GOOD = [json.dumps(r) for r in SAMPLE_ROWS]
HUGE = "x" * 1_000_001

# (name, bytes of a .jsonl file) that `prepare` must refuse (--on-bad-row fail).
JSONL = {
    "empty-file": b"",
    "blank-lines": b"\n\n  \n",
    "malformed-first": b"{oops\n" + "\n".join(GOOD).encode(),
    "malformed-middle": "\n".join(GOOD[:3] + ['{"description": "a",']).encode(),
    "trailing-comma": "\n".join(GOOD[:2] + ['{"description": "a", "instructions": "b",}']).encode(),
    "single-quotes": "\n".join(GOOD[:2] + ["{'description': 'a', 'instructions': 'b'}"]).encode(),
    "bad-bytes": "\n".join(GOOD[:2]).encode() + b'\n{"description": "\xff", "instructions": "x"}',
    "latin1": '{"description": "café", "instructions": "nop"}'.encode("latin-1"),
    "utf16": "\n".join(GOOD).encode("utf-16"),
    "nul-bytes": b"\x00\x00\x00\n" + GOOD[0].encode(),
    "list-row": b"[1, 2, 3]\n" + GOOD[0].encode(),
    "string-row": b'"just a string"\n',
    "number-row": b"42\n",
    "null-row": b"null\n",
    "missing-prompt": b'{"instructions": "nop"}\n',
    "missing-completion": b'{"description": "no-op"}\n',
    "empty-prompt": b'{"description": "   ", "instructions": "nop"}\n',
    "empty-completion": b'{"description": "no-op", "instructions": ""}\n',
    "number-prompt": b'{"description": 7, "instructions": "nop"}\n',
    "dict-completion": b'{"description": "a", "instructions": {"x": 1}}\n',
    "list-of-numbers": b'{"description": "a", "instructions": [1, 2]}\n',
    "null-field": b'{"description": null, "instructions": "nop"}\n',
    "bool-field": b'{"description": true, "instructions": "nop"}\n',
    "huge-field": json.dumps({"description": HUGE, "instructions": "nop"}).encode(),
    "nan-literal": b'{"description": NaN, "instructions": "nop"}\n',
    "too-few-rows": GOOD[0].encode(),
    "huge-chat-turn": json.dumps({"messages": [{"role": "user", "content": HUGE},
                                               {"role": "assistant", "content": "nop"}]}).encode(),
    "chat-no-assistant": b'{"messages": [{"role": "user", "content": "hi"}]}\n',
    "chat-bad-role": b'{"messages": [{"role": "bot", "content": "hi"}]}\n',
    "chat-not-a-list": b'{"messages": "hi"}\n',
    "deep-nesting": b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "huge-integer": b'{"description": ' + b"1" * 5000 + b', "instructions": "x"}\n',
    "inf-number": b'{"description": 1e999, "instructions": "nop"}\n',
    "duplicate-keys-non-string": b'{"description": "a", "description": 5, "instructions": "x"}\n',
}

CSV = {
    "csv-empty": b"",
    "csv-missing-column": b"description,other\na,b\n",
    "csv-bad-bytes": b"description,instructions\n\xff\xfe,nop\n",
    "csv-empty-cells": b"description,instructions\n,\n",
    "csv-header-only": b"description,instructions\n",
}

JSON = {
    "json-malformed": b"[{",
    "json-object-of-two-lists": b'{"a": [], "b": []}',
    "json-scalar": b"3",
    "json-bad-bytes": b'[{"description": "\xff"}]',
    "json-rows-not-objects": b"[1, 2]",
    "json-empty-list": b"[]",
}

PARQUET = {"parquet-garbage": b"PAR1 not really", "parquet-empty": b""}

# Bad values for options every data command shares, and for each command's own.
PREPARE_OPTIONS = [
    ("--valid-fraction", v) for v in ("-0.1", "1", "1.5", "nan", "inf", "abc", "-inf")
] + [
    ("--test-fraction", v) for v in ("-1", "1", "nan", "0.95", "x")
] + [
    ("--limit", v) for v in ("0", "-1", "-100", "x", "1.5")
] + [
    ("--dataset-size", v) for v in ("0", "-5", "x")
] + [
    ("--seed", v) for v in ("x", "1.5", "", "-1")
] + [
    ("--out", v) for v in ("", " ")
] + [
    ("--dataset", v) for v in ("", " ", "missing.jsonl", "./nope/", "data.txt", "*.nomatch.jsonl")
] + [
    ("--dataset-option", v) for v in ("bogus=1", "noequals", "holdoutx=row", "holdout=nope")
] + [
    ("--formatter", v) for v in ("nope", "")
] + [
    ("--filter", "nope"), ("--on-bad-row", "maybe"), ("--dataset-adapter", "nope"),
]

RUN_OPTIONS = [
    ("--learning-rate", v) for v in ("nan", "inf", "-inf", "0", "-1e-5", "x", "NaN")
] + [
    ("--alpha", v) for v in ("nan", "0", "-1", "inf")
] + [
    ("--dropout", v) for v in ("nan", "1", "-0.1", "2")
] + [
    ("--rank", v) for v in ("0", "-1", "x")
] + [
    ("--iters", v) for v in ("0", "-5", "1e3")
] + [
    ("--batch-size", v) for v in ("0", "-4")
] + [
    ("--bits", v) for v in ("1", "7", "16")
] + [
    ("--group-size", v) for v in ("5", "0", "256")
] + [
    ("--warmup", v) for v in ("-1", "600", "10000")
] + [
    ("--max-seq-length", v) for v in ("0", "1", "-2")
] + [
    ("--grad-accumulation", "0"), ("--steps-per-report", "0"), ("--steps-per-eval", "0"),
    ("--save-every", "0"), ("--keep-checkpoints", "0"), ("--val-batches", "0"),
    ("--val-batches", "-2"), ("--num-layers", "0"), ("--num-layers", "-3"),
    ("--sample-tokens", "-1"), ("--nproc", "0"), ("--lr-schedule", "linear"),
    ("--trainer", "nope"), ("--preset", "huge"), ("--resume", "no/such/run"),
    ("--limit", "0"), ("--dataset", ""), ("--dataset-option", "bogus=1"), ("--seed", "-1"),
    ("--run-dir", ""), ("--resume", ""),
    ("--valid-fraction", "nan"), ("--epochs", "0"), ("--epochs", "-1"),
]

EXPORT_CASES = [
    ["--format", "nope"], ["--fuse", "--format", "npz"], ["--format", "npz", "--dequantize"],
    ["--format", "mlx", "--modelfile"], ["--format", "npz", "--max-drift", "nan"],
    ["--format", "npz", "--max-delta-error", "inf"], ["--format", "npz", "--max-drift", "x"],
    ["--format", "npz", "--run", "no/such/run"],
]

GENERATE_CASES = [
    ["--max-tokens", "0", "hi"], ["--max-tokens", "-1", "hi"], ["--temp", "nan", "hi"],
    ["--temp", "-1", "hi"], ["--top-p", "0", "hi"], ["--top-p", "1.5", "hi"],
    ["--top-p", "inf", "hi"], [""], ["   "], ["--run", "no/such/run", "hi"],
    ["--adapter", "missing.npz", "--model", "m", "hi"], ["--seed", "x", "hi"],
]

PREDICTIONS = {
    "pred-malformed": b'{"reference": "nop"\n',
    "pred-missing-prediction": b'{"reference": "nop"}\n',
    "pred-missing-reference": b'{"prediction": "nop"}\n',
    "pred-not-object": b"[1]\n",
    "pred-bad-bytes": b'{"reference": "\xff", "prediction": "nop"}\n',
    "pred-empty": b"",
    "pred-number-fields": b'{"reference": 1, "prediction": 2}\n',
    "pred-huge-prediction": json.dumps({"reference": "nop", "prediction": HUGE}).encode(),
    "pred-huge-reference": json.dumps({"reference": HUGE, "prediction": "nop"}).encode(),
    "pred-deep-nesting": b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "pred-bom-then-garbage": b"\xef\xbb\xbf{x\n",
}

EVAL_OPTIONS = [
    ["--limit", "0"], ["--limit", "-2"], ["--batch-size", "0"], ["--trials", "-1"],
    ["--temperature", "nan"], ["--temperature", "-1"], ["--max-tokens", "0"],
    ["--evaluator", "nope"], ["--run", "r"], ["--model", "m"], ["--compare-base"],
]

CONFIGS = {
    "cfg-unknown-section.yaml": b"runn:\n  seed: 1\n",
    "cfg-mapping-value.yaml": b"seed:\n  a: 1\n",
    "cfg-list-for-scalar.yaml": b"seed: [1, 2]\n",
    "cfg-wrong-type.yaml": b"seed: abc\n",
    "cfg-nan.yaml": b"valid-fraction: .nan\n",
    "cfg-inf.toml": b"valid-fraction = inf\n",
    "cfg-unknown-option.yaml": b"sed: 1\n",
    "cfg-invalid.yaml": b"seed: [1\n",
    "cfg-invalid.toml": b"seed = \n",
    "cfg-invalid.json": b"{",
    "cfg-list.json": b"[1, 2]",
    "cfg-not-utf8.yaml": b"system: caf\xe9\n",
    "cfg-scalar.yaml": b"7\n",
    "cfg-section-wrong-type.yaml": b"prepare:\n  limit: many\n",
    "cfg-nested-list.yaml": b"dataset-option: [[a, b]]\n",
    "cfg-print-config-key.yaml": b"print-config: true\n",
    "cfg-number-as-path.yaml": b"out: 0\n",
    "cfg-inf-count.yaml": b"limit: .inf\n",
    "cfg-number-as-flag.yaml": b"overwrite: -1\n",
    "cfg-list-as-path.yaml": b"out: [a, b]\n",
    "cfg-bool-as-count.toml": b"limit = 1.5\n",
}


# Damaged settings of an otherwise good MLX / PEFT adapter directory.
MLX_SETTINGS = {"num_layers-text": ("num_layers", "all"),
                "rank-text": ("lora_parameters", {"rank": "x", "scale": 2.0}),
                "model-number": ("model", 5), "keys-number": ("lora_parameters",
                                                             {"rank": 4, "scale": 2.0, "keys": 7}),
                "type-dora": ("fine_tune_type", "dora")}
PEFT_SETTINGS = {"r-zero": ("r", 0), "r-text": ("r", "x"), "alpha-none": ("lora_alpha", None)}


# A run directory whose config.yaml was edited into something wrong.
SAVED_RUNS = {"rank-text": {"rank": "x"}, "iters-list": {"iters": [1]},
              "flag-text": {"grad-checkpoint": "yes"}, "model-number": {"model": 5},
              "bits-text": {"bits": "x"}, "model-list": {"model": ["a"]},
              "lr-nan": {"learning-rate": ".nan"}, "fraction-text": {"valid-fraction": "x"},
              "seq-fraction": {"max-seq-length": 1.5}}


def _cases():
    cases = []
    for name, data in JSONL.items():
        cases.append((f"prepare-{name}", ["prepare", "--dataset", f"{name}.jsonl"]))
        if GOOD[0].encode() not in data:  # only bad rows: skipping them leaves nothing
            cases.append((f"prepare-{name}-skip", ["prepare", "--dataset", f"{name}.jsonl",
                                                   "--on-bad-row", "skip"]))
        # The same file read by `run` (whose failed run leaves no directory) and by `eval`.
        cases.append((f"run-{name}", ["run", "--dataset", f"{name}.jsonl", "--run-dir",
                                      "runs/bad"]))
        if name != "too-few-rows":  # one good row is enough to evaluate
            cases.append((f"eval-data-{name}", ["eval", "--model", "m", "--data",
                                                f"{name}.jsonl"]))
    for table, suffix in ((CSV, "csv"), (JSON, "json"), (PARQUET, "parquet")):
        for name in table:
            cases.append((f"prepare-{name}", ["prepare", "--dataset", f"{name}.{suffix}"]))
    for option, value in PREPARE_OPTIONS:
        cases.append((f"prepare{option}={value!r}",
                      ["prepare", "--dataset", "good.jsonl", option, value]))
    for option, value in RUN_OPTIONS:
        cases.append((f"run{option}={value!r}",
                      ["run", "--dataset", "good.jsonl", option, value]))
    for args in EXPORT_CASES:
        cases.append((f"export{args}", ["export", "--adapter", "good.npz", *args]
                      if "--run" not in args else ["export", *args]))
    for name in ("adapter-nan.npz", "adapter-garbage.npz", "adapter-pickle.npz",
                 "adapter-truncated.npz", "adapter-missing.npz", "adapter-empty-dir",
                 *(f"adapter-mlx-{key}" for key in MLX_SETTINGS),
                 *(f"adapter-peft-{key}" for key in PEFT_SETTINGS)):
        for fmt in ("npz", "mlx", "peft"):
            cases.append((f"export-{name}-{fmt}", ["export", "--adapter", name, "--format", fmt]))
    cases.append(("export-empty-adapter", ["export", "--adapter", "", "--format", "npz"]))
    cases.append(("export-empty-out", ["export", "--adapter", "good.npz", "--format", "npz",
                                       "--out", ""]))
    cases.append(("export-existing-out", ["export", "--adapter", "good.npz", "--format", "npz",
                                          "--out", "good.jsonl"]))
    for args in GENERATE_CASES:
        cases.append((f"generate{args}", ["generate", *args]))
    for name in PREDICTIONS:
        cases.append((f"eval-{name}", ["eval", "--predictions", f"{name}.jsonl"]))
    for args in EVAL_OPTIONS:
        cases.append((f"eval{args}", ["eval", "--predictions", "pred-good.jsonl", *args]))
    for name in CONFIGS:
        # A section for another command is ignored: that file is bad for `prepare` only.
        for command in ("prepare",) if "section-wrong" in name else ("prepare", "run", "eval"):
            cases.append((f"{command}-{name}", [command, "--config", name]))
    cases += [("unknown-command", ["frobnicate"]), ("plugins-bad-flag", ["plugins", "--x"]),
              ("prepare-out-is-a-file", ["prepare", "--dataset", "good.jsonl", "--out",
                                         "good.jsonl"]),
              ("prepare-out-not-ours", ["prepare", "--dataset", "good.jsonl", "--out",
                                        "not-ours"]),
              ("run-dir-not-empty", ["run", "--dataset", "good.jsonl", "--run-dir",
                                     "not-ours"]),
              ("run-resume-not-a-run", ["run", "--resume", "not-ours"]),
              ("run-resume-not-utf8", ["run", "--resume", "latin-run"]),
              ("export-run-not-utf8", ["export", "--run", "latin-run", "--format", "npz"]),
              ("run-resume-garbage-yaml", ["run", "--resume", "garbage-run"]),
              ("export-run-garbage-yaml", ["export", "--run", "garbage-run", "--format", "npz"])]
    for name in SAVED_RUNS:
        cases.append((f"run-resume-{name}", ["run", "--resume", f"saved-{name}"]))
        if name.startswith(("model", "bits")):  # what loading a run relies on
            for command in (["export", "--format", "npz", "--run"], ["generate", "hi", "--run"],
                            ["eval", "--generate-only", "--run"]):
                cases.append((f"{command[0]}-run-{name}", [*command, f"saved-{name}"]))
    for size in ("abc", "-3", "2.5", "true", "0"):
        cases.append((f"prepare-riscv-size={size}", ["prepare", "--dataset", "riscv",
                                                     "--dataset-option", f"size={size}"]))
    for command in (["prepare", "--dataset", "good.jsonl", "--out"],
                    ["run", "--dataset", "good.jsonl", "--run-dir"],
                    ["export", "--adapter", "good.npz", "--format", "mlx", "--out"],
                    ["eval", "--predictions", "pred-good.jsonl", "--out"]):
        cases.append((f"{command[0]}-out-under-a-file", [*command, "good.jsonl/sub"]))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    import numpy as np

    from rvtune.export.adapter import LoraAdapter, write_npz

    root = tmp_path_factory.mktemp("corpus")
    for table, suffix in ((JSONL, "jsonl"), (CSV, "csv"), (JSON, "json"), (PARQUET, "parquet")):
        for name, data in table.items():
            (root / f"{name}.{suffix}").write_bytes(data)
    (root / "good.jsonl").write_text("\n".join(GOOD) + "\n")
    for name, data in PREDICTIONS.items():
        (root / f"{name}.jsonl").write_bytes(data)
    (root / "pred-good.jsonl").write_text('{"reference": "nop", "prediction": "nop"}\n')
    for name, data in CONFIGS.items():
        (root / name).write_bytes(data)
    import yaml

    for name, settings in SAVED_RUNS.items():
        run = root / f"saved-{name}"
        (run / "checkpoints").mkdir(parents=True)
        (run / "config.yaml").write_text(yaml.safe_dump({"run": {"dataset": "good.jsonl",
                                                                 **settings}}))
        ones = {"model.layers.0.self_attn.q_proj.lora_a": np.ones((16, 4), "float32"),
                "model.layers.0.self_attn.q_proj.lora_b": np.ones((4, 16), "float32")}
        write_npz(LoraAdapter(ones, rank=4, scale=2.0, model="m"), run / "adapters.npz")
    for name, text in (("latin-run", b"run:\n  model: caf\xe9\n"), ("garbage-run", b"run: [\n")):
        (root / name).mkdir()
        (root / name / "config.yaml").write_bytes(text)
    (root / "not-ours").mkdir()
    (root / "not-ours" / "keep.txt").write_text("mine")
    rng = np.random.default_rng(0)
    weights = {"model.layers.0.self_attn.q_proj.lora_a": rng.standard_normal((16, 4)),
               "model.layers.0.self_attn.q_proj.lora_b": rng.standard_normal((4, 16))}
    weights = {k: v.astype("float32") for k, v in weights.items()}
    write_npz(LoraAdapter(dict(weights), rank=4, scale=2.0), root / "good.npz")
    weights["model.layers.0.self_attn.q_proj.lora_a"][0, 0] = np.inf
    write_npz(LoraAdapter(weights, rank=4, scale=2.0), root / "adapter-nan.npz")
    (root / "adapter-garbage.npz").write_bytes(b"PK\x03\x04garbage")
    np.savez(root / "adapter-pickle.npz", x=np.array([{"a": 1}], dtype=object))
    good = (root / "good.npz").read_bytes()
    (root / "adapter-truncated.npz").write_bytes(good[: len(good) // 2])
    (root / "adapter-empty-dir").mkdir()
    from rvtune.export.adapter import write_mlx, write_peft

    good_adapter = LoraAdapter(dict(weights), rank=4, scale=2.0)
    good_adapter.weights["model.layers.0.self_attn.q_proj.lora_a"][0, 0] = 1.0
    for table, kind, write in ((MLX_SETTINGS, "mlx", write_mlx), (PEFT_SETTINGS, "peft", write_peft)):
        for name, (key, value) in table.items():
            folder = root / f"adapter-{kind}-{name}"
            write(good_adapter, folder)
            config = json.loads((folder / "adapter_config.json").read_text())
            config[key] = value
            (folder / "adapter_config.json").write_text(json.dumps(config))
    assert pickle  # the pickled case above is made through numpy's object arrays
    return root


def _listing(root: Path) -> set:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("case_id,args", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_line(corpus, monkeypatch, case_id, args):
    from rvtune.cli import cli

    monkeypatch.chdir(corpus)
    monkeypatch.setenv("RVTUNE_LOAD_PLUGINS", "")
    before = _listing(corpus)
    result = CliRunner().invoke(cli, args, catch_exceptions=True)
    assert isinstance(result.exception, SystemExit), (args, result.exception, result.output)
    assert result.exit_code in (1, 2, 75), (args, result.exit_code, result.output)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), (args, result.stderr)
    assert "Traceback" not in result.output and "please report" not in result.stderr
    if args[0] != "run":  # `run` reports its directory before it prepares the data
        assert result.stdout == "", (args, result.stdout)
    assert _listing(corpus) == before, (args, _listing(corpus) ^ before)


def test_the_corpus_is_a_few_hundred_inputs():
    assert len(CASES) >= 250
