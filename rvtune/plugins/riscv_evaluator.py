"""The ``riscv`` evaluator: exact, assembles, encoding_match, exec_match (docs/metrics.md)."""

import rvtune


class RiscvEvaluator:
    """RISC-V assembly: exact text, assembles, same encoding, same behaviour in unicorn."""

    name = "riscv"
    #: The metrics ``score`` returns, in the order reports show them. A metric whose value
    #: is None for an example is undecidable there and left out of its rate.
    metrics = ("exact", "assembles", "encoding_match", "exec_match")

    def __init__(self, trials: int = 16, seed: int = 0, validator=None):
        self.trials = trials
        self.seed = seed
        self.validator = validator

    def score(self, references, predictions) -> list[dict]:
        """One dict per pair: the four metrics and ``message`` (why, in one line or two).

        An empty answer (nothing but whitespace and comments) fails every metric: the
        assembler accepts it, but a model that answers nothing has not written the code.
        """
        from rvtune.riscv.metrics import normalize, score_pairs

        if self.validator is None:
            from rvtune.riscv.validate import Validator

            self.validator = Validator()
        scores = score_pairs(list(references), list(predictions), validator=self.validator,
                             trials=self.trials, seed=self.seed)
        result = []
        for reference, prediction, score in zip(references, predictions, scores):
            score = score.to_dict()
            if not normalize(prediction) and normalize(reference):
                score.update(exact=False, assembles=False, encoding_match=False,
                             exec_match=False, message="prediction is empty")
            result.append(score)
        return result

    def aggregate(self, scores: list[dict], categories=None) -> dict:
        """``{"overall": {...}, "by_category": {...}}`` as ``rvtune.riscv.metrics.aggregate``."""
        from rvtune.riscv.metrics import ExampleScore, aggregate

        fields = ("exact", "assembles", "encoding_match", "exec_match", "message")
        objects = [ExampleScore(**{k: s.get(k) for k in fields}) for s in scores]
        return aggregate(objects, categories)


@rvtune.hookimpl
def register_evaluators(register):
    register(RiscvEvaluator)
