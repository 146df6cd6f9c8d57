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


# -- options given from Python (rvtune.run, rvtune.prepare...): the checks click makes --

def convert_value(kind, value, where: str, multiple: bool = False):
    """``value`` as an option of ``kind`` holds it, or a one-line :class:`UsageError` that
    starts with ``where``. Kinds: ``"str"``, ``"int"``, ``"float"`` (finite), ``"bool"``,
    ``"path"`` (a non-empty string) or a tuple of choices; ``multiple``: a tuple of them."""
    if multiple:
        items = value if isinstance(value, (list, tuple)) else [value]
        return tuple(convert_value(kind, item, where) for item in items)
    import math
    from pathlib import Path

    from .errors import UsageError

    if kind == "bool":
        if not isinstance(value, bool):
            raise UsageError(f"{where} must be true or false, not {value!r}")
        return value
    if kind == "path":
        if not isinstance(value, (str, Path)):
            raise UsageError(f"{where} must be a path (a string), not "
                             f"{type(value).__name__} {value!r}")
        if not str(value).strip():
            raise UsageError(f"{where}: is empty; give a path")
        return str(value)
    if kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise UsageError(f"{where} must be a whole number, not {value!r}")
        try:
            return int(value)
        except ValueError:
            raise UsageError(f"{where}: {value!r} is not a valid integer.") from None
        except (TypeError, OverflowError):  # (click's wording for each, to the dot)
            raise UsageError(f"{where}: {value!r} is not a valid integer") from None
    if kind == "float":
        try:
            number = float(value)
        except ValueError:
            raise UsageError(f"{where}: {value!r} is not a valid float.") from None
        except TypeError:
            raise UsageError(f"{where}: {value!r} is not a valid float") from None
        if not math.isfinite(number):
            raise UsageError(f"{where}: {value!r} is not a finite number")
        return number
    if isinstance(kind, tuple):
        if value not in kind:
            raise UsageError(f"{where}: {value!r} is not one of "
                             f"{', '.join(repr(c) for c in kind)}.")
        return value
    return value if isinstance(value, str) else str(value)


def flag(name: str, renamed: dict | None = None) -> str:
    """``batch_size`` -> ``--batch-size`` (``renamed`` maps the exceptions)."""
    return (renamed or {}).get(name, "--" + name.replace("_", "-"))


def file_options(path, command: str, names, renamed=None, multiple=()) -> dict:
    """The options of a ``--config`` file for ``rvtune COMMAND`` (its top level, and its
    ``COMMAND`` section, which wins), as ``{(name, key as written): value}``; an unknown
    option is a :class:`UsageError` listing the known ones."""
    from pathlib import Path

    from .config import read_config_file
    from .errors import UsageError

    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError(f"--config {path}: no such file")
    data = read_config_file(path)
    by_flag = {flag(n, renamed)[2:].replace("-", "_"): n for n in names}
    section = data.get(command) if isinstance(data.get(command), dict) else {}
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    values = {}
    for key, value in {**flat, **section}.items():
        spelled = str(key).replace("-", "_")
        name = spelled if spelled in names else by_flag.get(spelled)
        if name is None:
            known = ", ".join(sorted(flag(n, renamed)[2:] for n in names))
            raise UsageError(f"--config {path}: unknown option '{key}' for "
                             f"`rvtune {command}`; options: {known}")
        if value is None:
            continue  # `key:` with no value: the option keeps its default
        if name not in multiple and isinstance(value, (list, tuple)):
            raise UsageError(f"--config {path}: '{key}' must be a single value (a string, "
                             f"number or true/false), not {type(value).__name__}")
        values[(name, key)] = value
    return values


def given_options(command: str, options: dict, kinds: dict, renamed=None,
                  multiple=()) -> dict:
    """Keyword options of ``rvtune.COMMAND(...)``, checked and converted as the command line
    would; a ``config`` file fills the ones not given. ``None`` means not given."""
    from .errors import UsageError

    by_flag = {flag(n, renamed)[2:].replace("-", "_"): n for n in kinds}
    values = {}
    config = options.get("config")
    for key, value in options.items():
        name = key if key in kinds or key == "config" else by_flag.get(key)
        if name is None:
            known = ", ".join(sorted(["config", *kinds]))
            raise UsageError(f"{command}(): unknown option {key!r}; options: {known}")
        if value is None or name == "config":
            continue
        values[name] = convert_value(kinds[name], value, flag(name, renamed),
                                     multiple=name in multiple)
    if config is not None:
        path = convert_value("path", config, "--config")
        for (name, key), value in file_options(path, command, list(kinds), renamed,
                                               multiple).items():
            if name not in values:
                values[name] = convert_value(kinds[name], value, f"--config {path}: '{key}'",
                                             multiple=name in multiple)
    return values
