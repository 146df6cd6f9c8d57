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

    def get_command(self, ctx, name):
        path = self._available().get(name)
        if path is not None:
            module_name, attr = path.split(":")
            return getattr(importlib.import_module(module_name), attr)
        return self._plugin_commands().get(name)

    def _plugin_commands(self) -> dict:
        if not hasattr(self, "_plugin_cache"):
            from rvtune.core.plugins import load_plugins

            group = click.Group()
            hook = load_plugins().manager.hook.register_commands
            for impl in hook.get_hookimpls():
                try:
                    impl.function(cli=group)
                except Exception as exc:
                    click.echo(f"rvtune: warning: plugin '{impl.plugin_name}' failed in "
                               f"register_commands: {exc}", err=True)
            self._plugin_cache = {n: c for n, c in group.commands.items()
                                  if n not in COMMANDS}
        return self._plugin_cache

    def invoke(self, ctx):
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


def _module_exists(path: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(path.split(":")[0]) is not None


@click.group(cls=RvtuneGroup)
@click.version_option(__version__, prog_name="rvtune")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
def cli(debug):
    """rvtune: fine-tune language models with LoRA / 4-bit QLoRA on MLX, where every
    stage (datasets, prompt formats, trainers, exporters, evaluators) is a plugin.

    Start with `rvtune run --preset tiny` (offline, about two minutes on a laptop CPU).
    """


def main(argv=None):
    """Console-script entry point."""
    from rvtune.training.cpu import fast_blas

    fast_blas()  # before any command imports MLX: binds it to an optimized BLAS on Linux
    try:
        cli.main(args=argv, prog_name="rvtune", standalone_mode=True)
    except SystemExit as exc:
        raise
    except Exception as exc:  # anything unexpected: one line, traceback behind --debug
        if "--debug" in (argv or sys.argv) or os.environ.get("RVTUNE_DEBUG"):
            raise
        click.echo(
            f"Error: unexpected {type(exc).__name__}: {exc} (run again with --debug for "
            "the traceback, and please report it)",
            err=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
