"""The load commands in docs/export-*.md, run as written (from a run's exports directory)
in the tools they name: rvtune, mlx-lm, llama.cpp."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from export_helpers import cache_dir, cli_run, run_cli  # noqa: F401  (fixture)
from llamacpp import llama_bin  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[2] / "docs"
MARK = re.compile(r"<!-- run by tests/export/test_docs_commands\.py[^>]*-->\n```bash\n(.*?)```",
                  re.S)


def blocks(page: str) -> list:
    found = MARK.findall((DOCS / page).read_text(encoding="utf-8"))
    assert found, f"docs/{page} has no block marked as run by this test"
    return found


def run_block(script: str, cwd: Path, bin_dirs=()) -> str:
    script = "\n".join(line for line in script.splitlines() if not line.startswith("ollama"))
    script = script.replace("~/.cache/rvtune", cache_dir())
    path = os.pathsep.join([*map(str, bin_dirs), str(Path(sys.executable).parent),
                            os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "RVTUNE_CACHE": cache_dir(), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{script}\n---\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def exports(cli_run, tmp_path_factory):
    """A copy of the CLI run with every export the docs load, under its exports/."""
    run = tmp_path_factory.mktemp("docs") / "run"
    shutil.copytree(cli_run, run, ignore=shutil.ignore_patterns("exports"))
    for args in (["--format", "npz"], ["--format", "mlx"], ["--format", "peft"],
                 ["--fuse", "--dequantize"],
                 ["--format", "gguf", "--modelfile"], ["--format", "gguf-lora"]):
        run_cli("export", "--run", run, *args, check=True)
    return run / "exports"


def test_npz_mlx_and_fused_commands(exports):
    for page in ("export-npz.md", "export-mlx.md", "export-fused.md"):
        for script in blocks(page):
            out = run_block(script, exports)
            assert out.strip(), (page, script)


def test_peft_command(exports):
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    (script,) = blocks("export-peft.md")
    assert run_block(script, exports).strip() == "16"  # the run's rank, read by PEFT


def test_gguf_commands_in_llama_cpp(exports, llama_bin):
    from rvtune.export.loading import read_run
    from rvtune.inference import prompt_format
    from rvtune.training.model import load_tokenizer

    (script,) = blocks("export-gguf.md")
    out = run_block(script, exports, [llama_bin])
    run = read_run(exports.parent)
    prompt = prompt_format(run).render("add a0 and a1 into a2")
    # both llama-completion runs echo the prompt (control tokens such as <|im_end|> hidden)
    assert out.count(prompt.replace("<|im_end|>", "")) == 2
    ids = [int(x) for x in out.strip().splitlines()[-1].strip("[]").split(",")]
    tokenizer = load_tokenizer(Path(run.model) if Path(run.model).exists() else run.model,
                               run.model)
    assert ids == list(tokenizer.encode(prompt))  # llama-tokenize agrees with training
    assert (exports / "Modelfile").read_text().startswith("FROM ./model-f16.gguf\n")
