"""The ``rvtune`` command line. Each command lives in ``rvtune/commands/`` and is imported
only when it runs (or when ``--help`` lists it), so start-up stays cheap."""

import importlib
import os
import sys

import click

from rvtune import __version__
from rvtune.core.errors import RvtuneError

COMMANDS = {
    "run": "rvtune.commands.run:run",
    "prepare": "rvtune.commands.prepare:prepare",
    "export": "rvtune.commands.export:export",
    "generate": "rvtune.commands.generate:generate",
    "chat": "rvtune.commands.generate:chat",
    "eval": "rvtune.commands.evaluate:evaluate",
    "plugins": "rvtune.commands.plugins:plugins",
}


class CleanError(click.ClickException):
    """An :class:`RvtuneError` shown as one line with its own exit code."""

    def __init__(self, error: RvtuneError):
        super().__init__(str(error))
        self.exit_code = error.exit_code


def _debug(ctx) -> bool:
    root = ctx.find_root()
    return bool((root.params or {}).get("debug")) or bool(os.environ.get("RVTUNE_DEBUG"))


class RvtuneGroup(click.Group):
    """Lazily imported commands, plugin commands, and clean one-line errors."""

    def _available(self) -> dict:
        available = {n: p for n, p in COMMANDS.items() if _module_exists(p)}
        return available

    def list_commands(self, ctx):
        names = set(self._available())
        names.update(self._plugin_commands())
        return sorted(names)

    def _get_command(self, ctx, name):
        path = self._available().get(name)
        if path is not None:
            module_name, attr = path.split(":")
            return getattr(importlib.import_module(module_name), attr)
        return self._plugin_commands().get(name)

    def _plugin_commands(self) -> dict:
        if not hasattr(self, "_plugin_cache"):
            from rvtune.core.plugins import plugin_commands

            self._plugin_cache = {n: c for n, c in plugin_commands().items()
                                  if n not in COMMANDS}
        return self._plugin_cache

    def get_command(self, ctx, name):
        command = self._get_command(ctx, name)
        if command is not None:
            strict_types(command)
        return command

    def invoke(self, ctx):
        from rvtune.core.errors import environment_error

        try:
            return super().invoke(ctx)
        except RvtuneError as exc:
            if _debug(ctx):
                raise
            raise CleanError(exc) from None
        except MemoryError:
            if _debug(ctx):
                raise
            raise click.ClickException(
                "out of memory; lower --batch-size, --max-seq-length or --rank, or turn on "
                "--grad-checkpoint"
            ) from None
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130) from None
        except click.UsageError as exc:
            if _debug(ctx):
                raise
            # One line, like every other error: click's own adds a usage block and a hint.
            where = exc.ctx.command_path if exc.ctx is not None else "rvtune"
            error = click.ClickException(f"{exc.format_message()} (see `{where} --help`)")
            error.exit_code = exc.exit_code
            raise error from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if _debug(ctx):
                raise
            mapped = environment_error(exc)
            if mapped is not None:
                raise CleanError(mapped) from None
            owner = self._plugin_owner(ctx.invoked_subcommand)
            if owner is None:
                raise
            error = click.ClickException(
                f"plugin command '{ctx.invoked_subcommand}' from {owner} failed: "
                f"{type(exc).__name__}: {exc} (report it to that plugin's authors; --debug "
                "shows the traceback)")
            error.exit_code = 70  # an internal error, of the plugin (docs/errors.md)
            raise error from None

    def _plugin_owner(self, name) -> str | None:
        if name is None or name in COMMANDS:
            return None
        from rvtune.core.plugins import command_owner

        return command_owner(name)


class FiniteFloat(click.types.FloatParamType):
    """A float option that refuses nan and inf (they train to NaN and pass every check)."""

    def convert(self, value, param, ctx):
        import math

        number = super().convert(value, param, ctx)
        if isinstance(number, float) and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


FINITE = FiniteFloat()


class NonEmptyPath(click.Path):
    """A path option that refuses ``""`` (read as "no path", it silently picks a default)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("is empty; give a path", param, ctx)
        return super().convert(value, param, ctx)


def strict_types(command) -> None:
    """Make every float option of ``command`` (built-in or plugin) refuse nan and inf, and
    every path option refuse an empty string."""
    for param in getattr(command, "params", ()):
        if type(param.type) is click.types.FloatParamType:
            param.type = FINITE
        elif type(param.type) is click.Path:
            param.type.__class__ = NonEmptyPath  # same settings, one more check


def _module_exists(path: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(path.split(":")[0]) is not None


@click.group(cls=RvtuneGroup)
@click.version_option(__version__, prog_name="rvtune")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
def cli(debug):
    """rvtune: fine-tune language models with LoRA / 4-bit QLoRA on MLX, where every
    stage (datasets, prompt formats, trainers, exporters, evaluators) is a plugin.

    Start with `rvtune run --preset tiny` (offline, about 30 s on 2 CPU cores).

    Exit codes: 0 success; 1 bad input content or environment (a data row, a model or
    adapter file, a full or read-only disk, a NaN loss); 2 bad command line or config file;
    75 busy (another rvtune process writes the same output); 70 internal error (rvtune or
    a plugin); 130 interrupted. Every error is one line; --debug shows the traceback
    (docs/errors.md).
    """


def main(argv=None):
    """Console-script entry point."""
    from rvtune.training import before_mlx

    before_mlx()  # before any command imports MLX: the CPU's BLAS, the CUDA graph cap
    try:
        cli.main(args=argv, prog_name="rvtune", standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # anything unexpected: one line, traceback behind --debug
        if "--debug" in (argv or sys.argv) or os.environ.get("RVTUNE_DEBUG"):
            raise
        from rvtune.core.errors import environment_error

        mapped = environment_error(exc)
        if mapped is not None:
            click.echo(f"Error: {mapped}", err=True)
            sys.exit(mapped.exit_code)
        click.echo(
            f"Error: unexpected {type(exc).__name__}: {exc} (run again with --debug for "
            "the traceback, and please report it)",
            err=True,
        )
        sys.exit(70)


if __name__ == "__main__":
    main()
