"""Option values, named as the commands name them (``dataset``, ``prompt_field``...), into the
configs the core takes. The click-free half of ``rvtune/commands/options.py``: the commands
and the Python API (``rvtune.run``) build their configs here alike."""

from .datasets import DatasetSpec


def parse_key_values(pairs, option: str) -> dict:
    """``key=value`` strings into a dict (values parsed as YAML scalars)."""
    import yaml

    from .errors import UsageError

    result = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"{option} {pair!r}: expected KEY=VALUE")
        key, value = pair.split("=", 1)
        result[key.strip()] = yaml.safe_load(value)
    return result


def dataset_spec(params: dict) -> DatasetSpec:
    """Build the :class:`DatasetSpec` from the dataset options' values."""
    return DatasetSpec(
        source=params["dataset"],
        adapter=params.get("dataset_adapter"),
        prompt_field=params["prompt_field"],
        completion_field=params["completion_field"],
        split=params["split"],
        revision=params.get("revision"),
        config_name=params.get("config_name"),
        size=params.get("dataset_size"),
        seed=params.get("seed", 0),
        options=parse_key_values(params.get("dataset_option") or (), "--dataset-option"),
    )


def _model_tokenizer(params: dict) -> str | None:
    """``rvtune run --formatter chat-template`` without ``--tokenizer``: the model's own (a
    GGUF file's converted directory)."""
    model = params.get("model")
    if params.get("formatter") != "chat-template" or not model:
        return None
    if str(model).lower().endswith(".gguf"):
        from rvtune.training.model import resolve_model_path

        return str(resolve_model_path(model))
    return str(model)


def prepare_config(params: dict, out: str):
    """Build a :class:`PrepareConfig` from a command's parameters."""
    from .prepare import PrepareConfig

    return PrepareConfig(
        dataset=dataset_spec(params),
        out=out,
        formatter=params["formatter"],
        system=params.get("system"),
        instruction_template=params.get("instruction_template"),
        tokenizer=params.get("tokenizer") or _model_tokenizer(params),
        seed=params["seed"],
        valid_fraction=params["valid_fraction"],
        test_fraction=params["test_fraction"],
        on_bad_row=params["on_bad_row"],
        filters=tuple(params.get("filters") or ()),
        limit=params.get("limit"),
        overwrite=params.get("overwrite", False),
    )


def prepare_report(result) -> list[str]:
    """The short report ``prepare`` and ``run`` print after preparing data (two lines)."""
    m = result.manifest
    counts = ", ".join(f"{n} {k}" for k, n in m["counts"].items())
    lines = [f"Prepared {result.out}: {counts} (formatter {m['formatter']['name']}, "
             f"seed {m['seed']})"]
    dropped = [f"{m['rows_read']} rows read", f"{m['duplicates_removed']} duplicates removed"]
    if m["bad_rows_skipped"]:
        dropped.append(f"{m['bad_rows_skipped']} bad rows skipped")
    for name, info in m["filters"].items():
        dropped.append(f"{info['dropped']} dropped by --filter {name}")
    listed = m.get("dropped_rows", {})
    if listed.get("count"):
        dropped.append(f"each listed in {result.out / listed['file']}")
    lines.append("  " + ", ".join(dropped))
    return lines
