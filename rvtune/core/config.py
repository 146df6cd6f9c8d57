"""Options from a YAML or TOML file (``--config``); flags on the command line win.

The file holds option names as keys (``batch-size`` or ``batch_size``), either at the top
level or under a section named after the command (``[run]``, ``prepare:``), which wins over
the top level. ``--print-config`` shows the effective options and exits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    import click

# click is imported by the functions that use it: read_config_file serves the Python API
# (rvtune/core/run.py), which runs without click.


def read_config_file(path: Path) -> dict:
    """Parse a ``.yaml``/``.yml``/``.toml``/``.json`` file into a dict."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"--config {path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"--config {path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                         f"at offset {exc.start}); save it as UTF-8") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except Exception as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"--config {path}: not valid {suffix.lstrip('.') or 'YAML'} "
                         f"({message})") from None
    if not isinstance(data, dict):
        raise UsageError(f"--config {path}: expected a mapping of option names to values")
    return data


def _command_names() -> set:
    from rvtune.cli import COMMANDS

    return set(COMMANDS)


def _is_section(key) -> bool:
    if key in _command_names():
        return True
    from .plugins import plugin_commands

    return key in plugin_commands()


def _scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _options_from(data: dict, command: click.Command, path: Path, ctx=None) -> dict:
    import click

    names = {p.name: p for p in command.params if isinstance(p, click.Option)}
    for key, value in data.items():
        if isinstance(value, dict) and not _is_section(key):
            sections = ", ".join(sorted(_command_names()))
            raise UsageError(f"--config {path}: '{key}' is not a command section (sections: "
                             f"{sections}) and an option value cannot be a mapping")
    section = data.get(command.name) if isinstance(data.get(command.name), dict) else {}
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    merged = {**flat, **section}
    values = {}
    for key, value in merged.items():
        name = str(key).replace("-", "_")
        if name in ("config", "print_config") or name not in names:
            known = ", ".join(sorted(n.replace("_", "-") for n in names
                                     if n not in ("config", "print_config")))
            raise UsageError(f"--config {path}: unknown option '{key}' for "
                             f"`rvtune {command.name}`; options: {known}")
        param = names[name]
        items = value if isinstance(value, (list, tuple)) else [value]
        if not param.multiple and isinstance(value, (list, tuple)) or not all(
                _scalar(v) for v in items):
            raise UsageError(f"--config {path}: '{key}' must be a single value (a string, "
                             f"number or true/false), not {type(value).__name__}"
                             if not param.multiple else
                             f"--config {path}: '{key}' must be a list of plain values")
        if value is None:
            continue  # `key:` with no value: the option keeps its default
        if param.multiple and not isinstance(value, (list, tuple)):
            value = [value]
        if ctx is not None:
            value = _converted(param, value, ctx, f"--config {path}: '{key}'")
        values[name] = value
    return values


def _converted(param, value, ctx, where: str):
    """The value as the option's type makes it, or a UsageError that says where and why
    (click itself lets some through, e.g. a number as a path or ``inf`` as a count)."""
    import click

    items = value if param.multiple else [value]
    if isinstance(param.type, click.Path) and not all(isinstance(v, str) for v in items):
        raise UsageError(f"{where} must be a path (a string), not "
                         f"{type(items[0]).__name__} {items[0]!r}")
    if param.is_flag and not all(isinstance(v, bool) for v in items):
        raise UsageError(f"{where} must be true or false, not {items[0]!r}")
    if isinstance(param.type, click.types.IntParamType) and any(
            isinstance(v, float) and not v.is_integer() for v in items):
        raise UsageError(f"{where} must be a whole number, not {items[0]!r}")
    try:
        return param.type_cast_value(ctx, value)
    except click.BadParameter as exc:
        raise UsageError(f"{where}: {exc.message}") from None
    except (TypeError, ValueError, OverflowError, AttributeError):
        raise UsageError(f"{where}: {value!r} is not a valid {param.type.name}") from None


def _load(ctx, _param, value):
    import click

    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise click.BadParameter(f"{path}: no such file", ctx=ctx, param=_param)
    try:
        defaults = _options_from(read_config_file(path), ctx.command, path, ctx)
    except UsageError as exc:
        raise click.UsageError(str(exc), ctx=ctx) from None
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return str(path)


def config_options(command):
    """Add ``--config FILE`` and ``--print-config`` to a click command."""
    import click

    command = click.option(
        "--print-config", is_flag=True,
        help="Print the effective options (config file + flags) as YAML and exit.",
    )(command)
    command = click.option(
        "--config", "config", type=click.Path(dir_okay=False), is_eager=True,
        expose_value=True, callback=_load,
        help="Read options from a YAML or TOML file; flags given here override it.",
    )(command)
    return command


def print_config_if_asked(ctx: click.Context) -> bool:
    """If ``--print-config`` was given, print the effective options and return True."""
    params = dict(ctx.params)
    if not params.pop("print_config", False):
        return False
    params.pop("config", None)
    import click
    import yaml

    clean = {k.replace("_", "-"): (list(v) if isinstance(v, tuple) else v)
             for k, v in params.items()}
    click.echo(yaml.safe_dump({ctx.command.name: clean}, sort_keys=False).rstrip())
    return True
