"""The ``riscv`` evaluator: exact, mnemonics, operand form, assembles, encoding_match,
exec_match (docs/metrics.md)."""

import rvtune


class RiscvEvaluator:
    """RISC-V assembly: exact text, assembles, same encoding, same behaviour in unicorn."""

    name = "riscv"
    #: The metrics ``score`` returns, in the order reports show them. A metric whose value
    #: is None for an example is undecidable there and left out of its rate.
    metrics = ("exact", "mnemonic_first", "mnemonic_all", "operand_form", "assembles",
               "encoding_match", "exec_match")

    def __init__(self, trials: int = 16, seed: int = 0, validator=None):
        self.trials = trials
        self.seed = seed
        self.validator = validator

    def prepare(self) -> None:
        """Find the assembler now, so that a missing one is said before any generation."""
        if self.validator is None:
            from rvtune.riscv.validate import Validator

            self.validator = Validator()

    def score(self, references, predictions) -> list[dict]:
        """One dict per pair: the metrics, ``message`` (why, in one line or two) and
        ``exec_reason`` (the cause in a few words when ``exec_match`` is undecidable).

        An empty answer (nothing but whitespace and comments) fails every metric: the
        assembler accepts it, but a model that answers nothing has not written the code.
        """
        from rvtune.riscv.metrics import normalize, score_pairs

        if self.validator is None:
            self.prepare()
        scores = score_pairs(list(references), list(predictions), validator=self.validator,
                             trials=self.trials, seed=self.seed)
        result = []
        for reference, prediction, score in zip(references, predictions, scores):
            score = score.to_dict()
            if not normalize(prediction) and normalize(reference):
                score.update({metric: False for metric in self.metrics},
                             message="prediction is empty", exec_reason=None)
            result.append(score)
        return result

    def accepts(self, predictions) -> list[bool]:
        """For checked decoding (``rvtune eval --check-samples``): True where the answer is
        non-empty and assembles (placeholders substituted, as the ``assembles`` metric)."""
        from rvtune.riscv.metrics import normalize

        if self.validator is None:
            self.prepare()
        results = self.validator.check_many(list(predictions), substitute=True)
        return [bool(normalize(p)) and r.valid for p, r in zip(predictions, results)]

    def aggregate(self, scores: list[dict], categories=None) -> dict:
        """``{"overall": {...}, "by_category": {...}}`` as ``rvtune.riscv.metrics.aggregate``."""
        from rvtune.riscv.metrics import ExampleScore, aggregate

        fields = (*self.metrics, "message", "exec_reason")
        objects = [ExampleScore(**{k: s.get(k) for k in fields}) for s in scores]
        return aggregate(objects, categories)

    def categorize(self, reference: str) -> str:
        """The extension of the reference's first instruction, for rows without a category."""
        from rvtune.riscv.forms import extension

        return extension(reference)


@rvtune.hookimpl
def register_evaluators(register):
    register(RiscvEvaluator)
