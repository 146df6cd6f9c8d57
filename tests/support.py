"""Helpers shared by the top-level tests (imported as ``support``: several conftest.py
files exist, so ``from conftest import`` would be ambiguous)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tiny_cache_dir() -> str:
    """``RVTUNE_CACHE`` for the tests: ``$RVTUNE_TEST_CACHE``, or a directory under the temp dir
    named by the tiny model's version and a fingerprint of the code that builds it (its
    tokenizer learns from the built-in RISC-V generator). A change to either builds a fresh
    tiny model instead of reusing one built from older sentences, which once hid two failures
    that a fresh machine showed."""
    import hashlib
    import tempfile

    from rvtune.training.tiny import TINY_VERSION

    if os.environ.get("RVTUNE_TEST_CACHE"):
        return os.environ["RVTUNE_TEST_CACHE"]
    digest = hashlib.sha1()
    sources = sorted((ROOT / "rvtune" / "riscv").glob("*.py")) + [
        ROOT / "rvtune" / "training" / "tiny.py"]
    for path in sources:
        digest.update(path.name.encode() + path.read_bytes())
    return str(Path(tempfile.gettempdir())
               / f"rvtune-test-cache-v{TINY_VERSION}-{digest.hexdigest()[:10]}")


def run_rvtune(*args, env=None, cwd=None, check=False, timeout=600):
    """Run the real CLI in a subprocess; returns CompletedProcess with text output."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "rvtune", *map(str, args)],
        capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"rvtune {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


SAMPLE_ROWS = [
    {"description": "Add the values in rs1 and rs2 and store the sum in rd.",
     "instructions": "add rd, rs1, rs2"},
    {"description": "Subtract rs2 from rs1 into rd.", "instructions": "sub rd, rs1, rs2"},
    {"description": "Bitwise exclusive-or of rs1 and rs2 into rd.",
     "instructions": "xor rd, rs1, rs2"},
    {"description": "Load a word from memory at rs1 plus imm into rd.",
     "instructions": "lw rd, imm(rs1)"},
    {"description": "Store the word in rs2 to memory at rs1 plus imm.",
     "instructions": "sw rs2, imm(rs1)"},
    {"description": "Add the values in rs1 and rs2 and store the sum in rd.",
     "instructions": "add rd, rs1, rs2"},
    {"description": "Shift rs1 left by shamt bits into rd.", "instructions": "slli rd, rs1, shamt"},
    {"description": "Branch to offset if rs1 equals rs2.", "instructions": "beq rs1, rs2, offset"},
    {"description": "Set rd to 1 if rs1 is less than rs2, signed.",
     "instructions": "slt rd, rs1, rs2"},
    {"description": "Multiply rs1 by rs2 into rd.", "instructions": "mul rd, rs1, rs2"},
    {"description": "Pseudo-code style target.", "instructions": "x[rd] = x[rs1] + x[rs2]"},
]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]
