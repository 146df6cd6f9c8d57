"""How often rvtune's validator agrees with an independent check on spec-style targets.

    python benchmarks/validator_agreement.py targets.json      # a JSON list, or JSONL with
                                                               # an "instructions" field

The independent check shares no code with rvtune: GNU as (``riscv64-linux-gnu-as``, from
Debian's ``binutils-riscv64-linux-gnu``) and a brute force over placeholder readings. Every
operand name of the RISC-V specifications' assembly syntax is tried as each thing it could
stand for (a register name as an x, f and v register; an immediate name as several values
and as a label; ``csr``, ``pred``/``succ``, ``rm``, ``vtypei`` as a few legal spellings), the
same name always read the same way, and a target counts as valid when any reading assembles
for RV64 or RV32. It prints the agreement on the distinct targets and every disagreement.
"""

import itertools
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

AS = "riscv64-linux-gnu-as"
MARCH = "rv{}imafdcv_zicsr_zifencei_zba_zbb_zbc_zbs_zfh"
REGS = {"rd", "rs", "rs1", "rs2", "rs3", "rt", "fd", "fs1", "fs2", "fs3", "vd", "vs", "vs1",
        "vs2", "vs3"}
IMMS = {"imm", "immediate", "uimm", "nzimm", "nzuimm", "simm", "zimm", "shamt", "offset",
        "imm5", "imm6", "imm12", "imm20", "uimm5", "uimm6", "uimm20", "simm5", "simm6",
        "simm12", "zimm5", "nzuimm6", "value", "disp"}
FIXED = {"csr": ["mscratch", "fcsr"], "pred": ["rw", "iorw"], "succ": ["rw", "iorw"],
         "rm": ["rne", "dyn"], "vtypei": ["e32, m1, ta, ma", "e8, m1, tu, mu"],
         "vm": ["v0.t"], "symbol": ["L"], "label": ["L"]}
NUMBERS = ["8", "16", "4", "1", "0", "64", "-16"]
TOKEN = re.compile(r"(?<![\w.$%])([A-Za-z_]\w*)('?)(?![\w.$])")
STRING = re.compile(r'("(?:[^"\\]|\\.)*")')


def readings(name: str, slot: int) -> list[str]:
    if name in REGS:
        return [f"a{slot % 6}", f"fa{slot % 6}", f"v{(8, 16, 24, 4, 12, 20)[slot % 6]}"]
    if name in IMMS:
        return NUMBERS + ["L"]
    return FIXED.get(name, [])


def candidates(target: str, cap: int = 400) -> list[str]:
    """Concrete spellings of ``target``: every consistent reading of its placeholders."""
    chunks = STRING.split(target.strip())
    names = []
    for i, chunk in enumerate(chunks):
        if i % 2 == 0:
            body = chunk if i else chunk.split(None, 1)[1] if len(chunk.split(None, 1)) > 1 \
                else ""
            names += [m.group(1) for m in TOKEN.finditer(body) if readings(m.group(1), 0)]
    names = list(dict.fromkeys(names))
    options = [readings(n, k) for k, n in enumerate(names)]
    out = []
    for combo in itertools.islice(itertools.product(*options), cap):
        pick = dict(zip(names, combo))

        def sub(chunk: str, first: bool) -> str:
            head, rest = (chunk.split(None, 1) + [""])[:2] if first else ("", chunk)
            rest = TOKEN.sub(lambda m: pick.get(m.group(1), m.group(0)), rest)
            return f"{head} {rest}" if first else rest

        text = "".join(c if i % 2 else sub(c, i == 0) for i, c in enumerate(chunks))
        out.append(text.replace(" L", " 1f").replace("(L)", "(1f)").replace(",L", ",1f"))
    return out or [target]


def gnu_valid(targets: list[str], xlen: int) -> list[bool]:
    """Per target: does any candidate assemble with GNU as for ``xlen``?"""
    lines, owner = [], []
    for t, target in enumerate(targets):
        for cand in candidates(target):
            for part in cand.split("\n"):
                lines.append(part)
                owner.append(t)
            lines.append("1:")
            owner.append(-1)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "a.s"
        src.write_text("\n".join(lines) + "\n")
        proc = subprocess.run([AS, f"-march={MARCH.format(xlen)}", "-o", str(Path(tmp) / "a.o"),
                               str(src)], capture_output=True, text=True)
    bad_lines = {int(m.group(1)) for m in re.finditer(r"^.*?a\.s:(\d+): Error", proc.stderr,
                                                       re.M)}
    ok = [False] * len(targets)
    start = 0
    for i, t in enumerate(owner + [-1]):
        if t == -1:
            span = range(start, i)
            if span and not any(n + 1 in bad_lines for n in span):
                ok[owner[start]] = True
            start = i + 1
    return ok


def independent(targets: list[str]) -> list[bool]:
    """The independent verdicts, RV64 first and RV32 for what RV64 rejects."""
    verdict = []
    for i in range(0, len(targets), 200):
        chunk = targets[i:i + 200]
        ok = gnu_valid(chunk, 64)
        retry = [t for t, v in zip(chunk, ok) if not v]
        again = iter(gnu_valid(retry, 32)) if retry else iter(())
        verdict += [v or next(again) for v in ok]
    return verdict


def main() -> None:
    path = Path(sys.argv[1])
    text = path.read_text(encoding="utf-8")
    targets = json.loads(text) if text.lstrip().startswith("[") else [
        json.loads(line)["instructions"] for line in text.splitlines() if line.strip()]
    distinct = list(dict.fromkeys(targets))
    from rvtune.riscv.validate import Validator

    ours = [r.valid for r in Validator().check_many(distinct)]
    theirs = independent(distinct)
    agree = sum(a == b for a, b in zip(ours, theirs))
    print(f"{len(targets)} targets, {len(distinct)} distinct; rvtune valid {sum(ours)}, "
          f"independent valid {sum(theirs)}; agreement {agree}/{len(distinct)} = "
          f"{100 * agree / len(distinct):.1f}%")
    for target, a, b in zip(distinct, ours, theirs):
        if a != b:
            print(f"  rvtune {'accepts' if a else 'rejects'}, independent "
                  f"{'accepts' if b else 'rejects'}: {target!r}")


if __name__ == "__main__":
    main()
