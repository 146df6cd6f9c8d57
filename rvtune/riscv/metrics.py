"""Score predicted RISC-V assembly against references: exact, assembles, encoding, execution.

See docs/metrics.md for what each metric means and where it stops being trustworthy.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from rvtune.core.errors import DataError

_LABEL = re.compile(r"\s*([A-Za-z_.$][\w.$]*|\d+)\s*:(?!:)")


@dataclass
class ExampleScore:
    """The metrics of one (reference, prediction) pair; ``exec_match`` None = undecidable."""

    exact: bool
    assembles: bool
    encoding_match: bool
    exec_match: bool | None
    message: str

    def to_dict(self) -> dict:
        """The score as a JSON-ready dict."""
        return asdict(self)


def _split_unquoted(text: str, separators: str) -> list[str]:
    """Split on any of ``separators`` outside double-quoted strings; ``#`` ends the text."""
    parts, current, quoted, escaped = [], [], False, False
    for char in text:
        if quoted:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
            current.append(char)
        elif char == "#":
            break
        elif char in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _squeeze(operand: str) -> str:
    """Lower-case and drop whitespace outside double-quoted strings."""
    pieces = re.split(r'("(?:\\.|[^"\\])*")', operand)
    return "".join(p if p.startswith('"') else re.sub(r"\s+", "", p.lower()) for p in pieces)


def _normalize_statement(statement: str) -> list[str]:
    lines = []
    while match := _LABEL.match(statement):
        lines.append(match.group(1).lower() + ":")
        statement = statement[match.end() :]
    statement = statement.strip()
    if statement:
        mnemonic, _, rest = statement.partition(" ")
        operands = [_squeeze(op) for op in _split_unquoted(rest, ",")] if rest.strip() else []
        lines.append(" ".join([mnemonic.lower()] + ([", ".join(operands)] if operands else [])))
    return lines


def normalize(text: str) -> str:
    """Canonical text for the ``exact`` metric.

    Drops ``#`` comments, blank lines and trailing whitespace; splits ``;``-separated
    statements and ``label: insn`` onto their own lines; lower-cases; writes operands as
    ``op1, op2`` with no whitespace inside an operand (``8 ( a1 )`` becomes ``8(a1)``).
    Register names stay as written: ``x10`` and ``a0`` differ here (``encoding_match`` sees
    through that). Text inside double quotes is kept as is.
    """
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        for statement in _split_unquoted(line.replace("\t", " "), ";"):
            lines.extend(_normalize_statement(statement))
    return "\n".join(lines)


def _exec_verdict(ref, pred, trials: int, seed: int) -> tuple[bool | None, str]:
    from rvtune.riscv.emulate import compare

    if not ref.valid:
        return None, f"reference does not assemble: {ref.message}"
    if not pred.valid:
        return False, f"prediction does not assemble: {pred.message}"
    for side, result in (("reference", ref), ("prediction", pred)):
        if getattr(result, "xlen", 64) != 64:
            return None, f"undecidable: the {side} assembles only for RV32 (emulation is RV64)"
    verdict = compare(
        ref.encoding,
        pred.encoding,
        trials=trials,
        seed=seed,
        ref_relocs=tuple(ref.relocations),
        pred_relocs=tuple(pred.relocations),
    )
    return verdict.match, verdict.reason


def score_pairs(
    references: list[str],
    predictions: list[str],
    validator=None,
    trials: int = 16,
    seed: int = 0,
) -> list[ExampleScore]:
    """Score each prediction against its reference (see docs/metrics.md).

    Assembles every reference and prediction in one ``validator.check_many`` call (with
    placeholders substituted), then compares texts, encodings and, in the unicorn emulator,
    behaviour from ``trials`` random states drawn from ``seed``. A reference that does not
    assemble makes its ``exec_match`` undecidable; a prediction that does not fails it.
    """
    if len(references) != len(predictions):
        raise DataError(
            f"score_pairs got {len(references)} references but {len(predictions)} predictions; "
            "pass one prediction per reference"
        )
    if validator is None:
        from rvtune.riscv.validate import Validator

        validator = Validator()
    results = validator.check_many(list(references) + list(predictions), substitute=True)
    count = len(references)
    scores = []
    for index, (ref_text, pred_text) in enumerate(zip(references, predictions)):
        ref, pred = results[index], results[count + index]
        encoding_match = (
            ref.valid
            and pred.valid
            and bytes(ref.encoding) == bytes(pred.encoding)
            and tuple(ref.relocations) == tuple(pred.relocations)
            and getattr(ref, "xlen", 64) == getattr(pred, "xlen", 64)
        )
        exec_match, message = _exec_verdict(ref, pred, trials, seed)
        scores.append(
            ExampleScore(
                exact=normalize(ref_text) == normalize(pred_text),
                assembles=bool(pred.valid),
                encoding_match=bool(encoding_match),
                exec_match=exec_match,
                message=message,
            )
        )
    return scores


def _summary(scores: list[ExampleScore]) -> dict:
    count = len(scores)
    decided = [s.exec_match for s in scores if s.exec_match is not None]

    def rate(hits: int, total: int) -> float | None:
        return hits / total if total else None

    return {
        "examples": count,
        "exact": rate(sum(s.exact for s in scores), count),
        "assembles": rate(sum(s.assembles for s in scores), count),
        "encoding_match": rate(sum(s.encoding_match for s in scores), count),
        "exec_match": rate(sum(decided), len(decided)),
        "exec_decided": len(decided),
        "exec_undecidable": count - len(decided),
    }


def aggregate(scores: list[ExampleScore], categories: list[str] | None = None) -> dict:
    """Rates over all examples and, given one category per score, per category.

    ``exec_match`` is the rate over the decidable examples only (``exec_decided`` of them);
    ``exec_undecidable`` counts the others. A rate over zero examples is None.
    """
    report = {"overall": _summary(scores)}
    if categories is not None:
        if len(categories) != len(scores):
            raise DataError(
                f"aggregate got {len(scores)} scores but {len(categories)} categories; "
                "pass one category per score"
            )
        groups: dict[str, list[ExampleScore]] = {}
        for score, category in zip(scores, categories):
            groups.setdefault(str(category), []).append(score)
        report["by_category"] = {name: _summary(group) for name, group in sorted(groups.items())}
    return report
