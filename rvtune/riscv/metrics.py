"""Score predicted RISC-V assembly against references: exact, mnemonics, operand form,
assembles, encoding, execution.

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
    #: The first mnemonic is the same (``c.`` forms count as their base instruction).
    mnemonic_first: bool = False
    #: Every mnemonic is the same, in the same order.
    mnemonic_all: bool = False
    #: Every statement has the same operand kinds (registers by file, imm, label, imm(reg)...).
    operand_form: bool = False
    #: When ``exec_match`` is None, the cause in a few words (counted in reports).
    exec_reason: str | None = None

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


def _exec_verdict(ref, pred, trials: int, seed: int) -> tuple[bool | None, str, str | None]:
    from rvtune.riscv.emulate import compare

    if not ref.valid:
        return None, f"reference does not assemble: {ref.message}", "reference does not assemble"
    if not pred.valid:
        return False, f"prediction does not assemble: {pred.message}", None
    for side, result in (("reference", ref), ("prediction", pred)):
        if getattr(result, "xlen", 64) != 64:
            return (None, f"undecidable: the {side} assembles only for RV32 (emulation is RV64)",
                    "RV32-only code (emulation is RV64)")
    verdict = compare(
        ref.encoding,
        pred.encoding,
        trials=trials,
        seed=seed,
        ref_relocs=tuple(ref.relocations),
        pred_relocs=tuple(pred.relocations),
    )
    return verdict.match, verdict.reason, (verdict.cause or "undecidable"
                                           if verdict.match is None else None)


def form_scores(reference: str, prediction: str) -> dict[str, bool]:
    """``mnemonic_first``, ``mnemonic_all`` and ``operand_form`` of one pair (any text)."""
    from rvtune.riscv.forms import mnemonics, operand_form

    ref_mnemonics, pred_mnemonics = mnemonics(reference), mnemonics(prediction)
    return {
        "mnemonic_first": ref_mnemonics[:1] == pred_mnemonics[:1],
        "mnemonic_all": ref_mnemonics == pred_mnemonics,
        "operand_form": operand_form(reference) == operand_form(prediction),
    }


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
        exec_match, message, exec_reason = _exec_verdict(ref, pred, trials, seed)
        scores.append(
            ExampleScore(
                exact=normalize(ref_text) == normalize(pred_text),
                assembles=bool(pred.valid),
                encoding_match=bool(encoding_match),
                exec_match=exec_match,
                message=message,
                exec_reason=exec_reason,
                **form_scores(ref_text, pred_text),
            )
        )
    return scores


#: The metrics that are rates over every example, in report order; ``exec_match`` follows.
RATES = ("exact", "mnemonic_first", "mnemonic_all", "operand_form", "assembles",
         "encoding_match")


def _summary(scores: list[ExampleScore]) -> dict:
    count = len(scores)
    decided = [s.exec_match for s in scores if s.exec_match is not None]

    def rate(hits: int, total: int) -> float | None:
        return hits / total if total else None

    causes: dict[str, int] = {}
    for s in scores:
        if s.exec_match is None:
            cause = s.exec_reason or "undecidable"
            causes[cause] = causes.get(cause, 0) + 1
    return {
        "examples": count,
        **{name: rate(sum(getattr(s, name) for s in scores), count) for name in RATES},
        "exec_match": rate(sum(decided), len(decided)),
        "exec_decided": len(decided),
        "exec_undecidable": count - len(decided),
        "exec_undecidable_causes": dict(sorted(causes.items(), key=lambda kv: -kv[1])),
    }


def aggregate(scores: list[ExampleScore], categories: list[str] | None = None) -> dict:
    """Rates over all examples and, given one category per score, per category.

    ``exec_match`` is the rate over the decidable examples only (``exec_decided`` of them);
    ``exec_undecidable`` counts the others and ``exec_undecidable_causes`` says why, cause by
    cause. A rate over zero examples is None.
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
