"""`rvtune export` on a real run made by `rvtune run --preset tiny`."""

import json

import pytest

from export_helpers import cli_run, run_cli  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def test_unknown_export_format_and_existing_output(cli_run):
    proc = run_cli("export", "--run", cli_run, "--format", "onnx")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "Error: unknown exporter 'onnx' (option --format); available: fused, gguf, gguf-lora, "
        "mlx, npz, peft (see `rvtune plugins`)"]
    keep = cli_run / "exports" / "adapters.npz"
    keep.parent.mkdir(exist_ok=True)
    keep.write_text("the user's file")
    proc = run_cli("export", "--run", cli_run, "--format", "npz")
    assert proc.returncode == 2 and "--overwrite" in proc.stderr
    assert keep.read_text() == "the user's file"
    keep.unlink()


def test_every_format_through_the_cli(cli_run):
    import stat

    for fmt, name, extra in (("npz", "adapters.npz", []), ("mlx", "mlx-adapter", []),
                             ("peft", "peft-adapter", []),
                             ("gguf", "model-q8_0.gguf", ["--outtype", "q8_0"]),
                             ("gguf-lora", "adapter.gguf", []),
                             ("gguf", "model-f16.gguf", ["--modelfile"])):
        proc = run_cli("export", "--run", cli_run, "--format", fmt, *extra)
        assert proc.returncode == 0, proc.stderr
        out = cli_run / "exports" / name
        assert out.exists()
        assert f"Exported {fmt} to" in proc.stdout and "load it with" in proc.stdout
        for path in [out, *out.rglob("*")] if out.is_dir() else [out]:  # as other outputs
            assert stat.S_IMODE(path.stat().st_mode) == (0o755 if path.is_dir() else 0o644)
    assert (cli_run / "exports" / "base-f16.gguf").exists()  # gguf-lora's base
    modelfile = (cli_run / "exports" / "Modelfile").read_text()
    # the run's instruction template and chatml layout are baked into the template
    assert "Write RISC-V for: {{ .Prompt }}<|im_end|>" in modelfile
    peft = json.loads((cli_run / "exports" / "peft-adapter" / "adapter_config.json").read_text())
    assert peft["r"] == 16 and peft["lora_alpha"] == 16.0 and peft["layers_to_transform"] is None
    # no leftovers from the atomic writes
    assert not [p for p in (cli_run / "exports").iterdir() if p.name.startswith(".")]


def test_fuse_shorthand_from_inside_the_run_and_generate_agrees(cli_run):
    proc = run_cli("export", "--fuse", "--dequantize", cwd=cli_run)
    assert proc.returncode == 0, proc.stderr
    fused = cli_run / "exports" / "fused-model"
    assert "adapted layers stored as" in proc.stdout
    assert "quantization" not in json.loads((fused / "config.json").read_text())
    again = run_cli("export", "--fuse", cwd=cli_run)
    assert again.returncode == 2 and "--overwrite" in again.stderr

    # greedy answers: base + adapter (rvtune generate) == the fused model (plain mlx-lm)
    from mlx_lm import load

    import rvtune
    from rvtune.inference import generate, prompt_format
    from rvtune.export.loading import read_run

    run = read_run(cli_run)
    fmt = prompt_format(run)
    text = fmt.render("Add a0 and a1 into a2")
    model, tok = rvtune.load(cli_run)
    model_f, tok_f = load(str(fused))
    kwargs = dict(max_tokens=12, stop_strings=fmt.stop_strings, has_bos=fmt.has_bos)
    assert generate(model, tok, text, **kwargs) == generate(model_f, tok_f, text, **kwargs)

    # mlx-lm's own CLI prompts the fused model with its chat template: the run's layout
    # (chatml + the instruction template), so it answers what rvtune generate answers.
    import subprocess
    import sys
    from pathlib import Path

    ours = generate(model, tok, text, **kwargs)
    proc = subprocess.run([str(Path(sys.executable).parent / "mlx_lm.generate"), "--model",
                           str(fused), "--prompt", "Add a0 and a1 into a2", "--max-tokens", "12",
                           "--temp", "0"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    answer = proc.stdout.split("==========\n", 1)[1].rsplit("\n==========", 1)[0]
    print(f"rvtune generate: {ours!r}; mlx_lm.generate on the fused model: {answer!r}")
    assert answer == ours
    config = json.loads((fused / "tokenizer_config.json").read_text())
    assert "Write RISC-V for: " in config["chat_template"]
    assert (fused / "chat_template.jinja").read_text() == config["chat_template"]
    assert json.loads((fused / "rvtune_fuse.json").read_text())["retried"] is False
