"""What the validator refuses to hand to an assembler, decided from the text alone.

Snippets come from datasets and from model predictions, so they are untrusted input to a
program that can read files (``.include``, ``.incbin``) and write unbounded output
(``.space 1<<40``, ``.p2align 40``, ``.rept 100000000``). ``refusal(text)`` names the first
such statement; the validator reports it as the snippet's error without running anything.
Sizes hidden behind symbols (``.space N`` after ``.equ N, ...``) cannot be judged from the
text: the assembler's time, memory and output-file limits (``backends.LIMITS``) stop those.
"""

from __future__ import annotations

import ast
import operator
import re

MAX_BYTES = 1 << 20
"""The most bytes one snippet may ask a data directive to emit (1 MiB)."""

MAX_REPEAT = 10_000
"""The most times (nested ``.rept`` counts multiplied) a snippet may repeat a block."""

_READS_FILES = {".include", ".incbin"}
_SIZED = {".space": 0, ".skip": 0, ".zero": 0, ".fill": None}   # directive -> size argument
_ALIGN = {".align": "p2", ".p2align": "p2", ".balign": "bytes", ".p2alignw": "p2",
          ".p2alignl": "p2", ".balignw": "bytes", ".balignl": "bytes"}
_REPEAT = {".rept", ".rep"}
_ENDS = {".endr"}
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.LShift: operator.lshift,
        ast.RShift: operator.rshift, ast.BitOr: operator.or_, ast.BitAnd: operator.and_,
        ast.BitXor: operator.xor}


def _value(expr: str) -> int | None:
    """An integer expression's value, or None when it names symbols or is not plain."""
    text = re.sub(r"\b0[bB]([01]+)\b", lambda m: str(int(m.group(1), 2)), expr.strip())
    text = re.sub(r"\b0([0-7]+)\b", lambda m: str(int(m.group(1), 8)), text).replace("/", "//")
    if not text or len(text) > 200:
        return None
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError):
        return None

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd,
                                                                   ast.Invert)):
            v = ev(node.operand)
            return {ast.USub: -v, ast.UAdd: v, ast.Invert: ~v}[type(node.op)]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.LShift) and right > 256:
                return 1 << 256   # "huge" is all that matters
            return _OPS[type(node.op)](left, right)
        raise ValueError(node)

    try:
        return ev(tree)
    except (ValueError, ZeroDivisionError, TypeError, OverflowError):
        return None


def _args(rest: str) -> list[str]:
    return [a.strip() for a in rest.split(",")]


def _statements(text: str):
    for line in text.split("\n"):
        code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line)     # string contents are data
        code = code.split("#", 1)[0]
        for stmt in code.split(";"):
            stmt = re.sub(r"^\s*(?:(?:[A-Za-z_.$][\w.$]*|\d+)\s*:\s*)+", "", stmt).strip()
            if stmt:
                head, _, rest = stmt.partition(" ")
                yield head.lower(), rest.strip()


def refusal(text: str) -> str:
    """Why ``text`` must not be assembled (one line), or '' when it may be."""
    repeat = [1]
    for head, rest in _statements(text):
        if head in _READS_FILES:
            return f"'{head}' reads a file; rvtune never assembles directives that read files"
        if "\\" in head or head == ".altmacro":
            return (f"'{head.split(chr(92))[0] or head}...' builds a statement from macro "
                    "arguments; rvtune refuses it because it could spell a file-reading "
                    "directive")
        if head in _REPEAT:
            count = _value(rest)
            repeat.append(repeat[-1] * max(count, 0) if count is not None else repeat[-1])
            if repeat[-1] > MAX_REPEAT:
                return f"'{head} {rest}' repeats a block more than {MAX_REPEAT:,} times"
        elif head in _ENDS and len(repeat) > 1:
            repeat.pop()
        elif head in _SIZED:
            args = _args(rest)
            if head == ".fill":
                n = _value(args[0]) if args[0] else None
                size = _value(args[1]) if len(args) > 1 else 1
                size = size if size is not None else 8
                total = None if n is None else n * min(max(size, 0), 8)
            else:
                total = _value(args[0]) if args[0] else None
            if total is not None and total * repeat[-1] > MAX_BYTES:
                return f"'{head} {rest}' emits more than {MAX_BYTES:,} bytes"
        elif head in _ALIGN and rest:
            n = _value(_args(rest)[0])
            if n is not None and (n if _ALIGN[head] == "bytes" else 1 << min(max(n, 0), 64)
                                  ) > MAX_BYTES:
                return f"'{head} {rest}' pads to more than {MAX_BYTES:,} bytes"
    return ""
