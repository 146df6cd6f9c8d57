"""``rvtune eval``'s options as Python values: what kind each is, and the
:class:`~rvtune.evaluation.pipeline.EvalConfig` they make. The command and
``rvtune.evaluate`` (rvtune/api.py) build their configs here alike."""

from rvtune.core.datasets import DEFAULT_COMPLETION_FIELD, DEFAULT_PROMPT_FIELD

#: Each option's kind (rvtune.core.options.convert_value); REPEATABLE ones take a list.
KINDS = {
    "run": "path", "model": "str", "adapter": "str", "checkpoint": "str",
    "data": "str", "dataset_adapter": "str", "prompt_field": "str", "completion_field": "str",
    "split": "str", "revision": "str", "config_name": "str", "dataset_size": "int",
    "dataset_option": "str", "predictions": "path", "limit": "int", "out": "path",
    "overwrite": "bool", "evaluator": "str", "formatter": "str", "system": "str",
    "instruction_template": "str", "compare_base": "bool", "batch_size": "int",
    "max_tokens": "int", "temperature": "float", "seed": "int", "trials": "int",
    "check_samples": "int", "check_temperature": "float", "generate_only": "bool",
}
REPEATABLE = ("dataset_option",)
#: Options whose flag is not --<name with dashes>.
RENAMED = {"dataset_adapter": "--data-adapter"}
#: The defaults of the options that EvalConfig does not hold (how to read --data).
DATA_DEFAULTS = {"dataset_adapter": None, "prompt_field": DEFAULT_PROMPT_FIELD,
                 "completion_field": DEFAULT_COMPLETION_FIELD, "split": "train",
                 "revision": None, "config_name": None, "dataset_size": None,
                 "dataset_option": ()}


def defaults() -> dict:
    """Every option's default, as ``rvtune eval --help`` shows it."""
    from dataclasses import fields

    from .pipeline import EvalConfig

    values = {f.name: f.default for f in fields(EvalConfig) if f.name in KINDS}
    return {**values, **DATA_DEFAULTS}


def eval_config(params: dict):
    """The :class:`EvalConfig` of the options in ``params`` (all of them, by name)."""
    from rvtune.core.options import dataset_spec

    from .pipeline import EvalConfig

    dataset = {}
    if params["data"]:
        spec = dataset_spec({**params, "dataset": params["data"]})
        dataset = {k: v for k, v in vars(spec).items() if k != "source"}
    return EvalConfig(
        run=params["run"], model=params["model"], adapter=params["adapter"],
        checkpoint=params["checkpoint"],
        data=params["data"], dataset=dataset, predictions=params["predictions"],
        limit=params["limit"], out=params["out"], overwrite=params["overwrite"],
        evaluator=params["evaluator"], formatter=params["formatter"], system=params["system"],
        instruction_template=params["instruction_template"], compare_base=params["compare_base"],
        batch_size=params["batch_size"], max_tokens=params["max_tokens"],
        temperature=params["temperature"], seed=params["seed"], trials=params["trials"],
        generate_only=params["generate_only"], check_samples=params["check_samples"],
        check_temperature=params["check_temperature"],
    )
