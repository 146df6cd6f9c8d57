"""Small helpers for the evaluation tests.

Imported by name instead of ``from conftest import ...``: with several conftest.py files in
the tree, which one ``conftest`` names depends on collection order.
"""

import json
import os
import subprocess
import sys
from pathlib import Path


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]


def run_rvtune(*args, env=None, cwd=None, check=False, timeout=600):
    """Run the real CLI in a subprocess, offline; returns the CompletedProcess."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "rvtune", *map(str, args)],
                          capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"rvtune {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc
