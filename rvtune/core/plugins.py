"""The plugin manager: built-ins first, then third-party entry points, each guarded.

Third-party plugins come from the entry-point group ``rvtune``. ``RVTUNE_LOAD_PLUGINS``
controls them: unset loads all; empty (``RVTUNE_LOAD_PLUGINS=``) loads none; a
comma-separated list loads only those entry-point or distribution names. A plugin that fails
to import or register is reported in one line and skipped; everything else keeps working.
"""

import contextlib
import importlib
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from . import hookspecs
from .registry import KINDS, Registry

ENTRY_POINT_GROUP = "rvtune"

DEFAULT_PLUGINS = (
    "rvtune.plugins.formatters",
    "rvtune.plugins.files_dataset",
    "rvtune.plugins.hf_dataset",
    "rvtune.plugins.riscv_dataset",
    "rvtune.plugins.riscv_phrasings",
    "rvtune.plugins.exporters",
    "rvtune.plugins.riscv_evaluator",
    "rvtune.plugins.riscv_filter",
    "rvtune.plugins.mlx_trainer",
    "rvtune.plugins.loggers",
)


@dataclass
class PluginInfo:
    """What ``rvtune plugins`` shows about one plugin."""

    name: str
    version: str | None
    builtin: bool
    distribution: str | None = None
    error: str | None = None
    registered: dict = field(default_factory=dict)


@dataclass
class Plugins:
    """The loaded plugin manager, the registry it filled, and per-plugin status."""

    manager: pluggy.PluginManager
    registry: Registry
    info: dict
    commands: dict | None = None  # filled by plugin_commands()
    owners: dict = field(default_factory=dict)

    @property
    def failed(self) -> list[PluginInfo]:
        return [p for p in self.info.values() if p.error]


_loaded: Plugins | None = None


def _warn(message: str) -> None:
    print(f"rvtune: warning: {message}", file=sys.stderr)


@contextlib.contextmanager
def _guarded(info: PluginInfo, what: str):
    """Run plugin code: its prints go to stderr (stdout carries `plugins --json` and
    command output), and any failure, even ``sys.exit()``, marks the plugin failed instead
    of ending rvtune. Ctrl-C still stops everything."""
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit and friends from plugin code, too
        detail = str(exc) if str(exc) else ""
        if isinstance(exc, SystemExit):
            detail = f"called sys.exit({exc.code!r})"
        info.error = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        where = f" from distribution '{info.distribution}'" if info.distribution else ""
        _warn(f"plugin '{info.name}'{where} failed {what}: {detail or '-'} "
              f"({type(exc).__name__}); skipped. RVTUNE_LOAD_PLUGINS= turns third-party "
              "plugins off")


def _wanted(ep, dist_name: str | None) -> bool:
    setting = os.environ.get("RVTUNE_LOAD_PLUGINS")
    if setting is None:
        return True
    wanted = {s.strip() for s in setting.split(",") if s.strip()}
    return ep.name in wanted or (dist_name or "") in wanted


def _load_third_party(pm: pluggy.PluginManager, info: dict) -> None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        if not _wanted(ep, dist_name):
            continue
        plugin_info = PluginInfo(ep.name, version, False, dist_name)
        info[ep.name] = plugin_info
        with _guarded(plugin_info, "to load"):
            module = ep.load()
            pm.register(module, name=ep.name)


def _fill_registry(pm: pluggy.PluginManager, info: dict) -> Registry:
    registry = Registry()
    for kind, (hook_name, _label) in KINDS.items():
        hook = getattr(pm.hook, hook_name)
        for impl in hook.get_hookimpls():  # registration order: built-ins first
            plugin = impl.plugin_name
            plugin_info = info.get(plugin)
            if plugin_info is None or plugin_info.error:
                continue

            def register(component, _plugin=plugin, _kind=kind):
                registry.add(_kind, component, _plugin)
                info[_plugin].registered.setdefault(_kind, []).append(component.name)

            with _guarded(plugin_info, f"in {hook_name}"):
                impl.function(register=register)
    return registry


def load_plugins() -> Plugins:
    """Load built-in and third-party plugins once; later calls return the same object."""
    global _loaded
    if _loaded is not None:
        return _loaded
    pm = pluggy.PluginManager("rvtune")
    pm.add_hookspecs(hookspecs)
    info: dict = {}
    from rvtune import __version__

    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        info[module_name] = PluginInfo(module_name, __version__, True, "rvtune")
    _load_third_party(pm, info)
    _loaded = Plugins(pm, _fill_registry(pm, info), info)
    return _loaded


def plugin_commands() -> dict:
    """Run every ``register_commands`` hook once (guarded like loading); returns
    ``{name: click command}`` and remembers which plugin gave each command."""
    import click

    plugins = load_plugins()
    if plugins.commands is not None:
        return plugins.commands
    commands = {}
    for impl in plugins.manager.hook.register_commands.get_hookimpls():
        info = plugins.info.get(impl.plugin_name) or PluginInfo(impl.plugin_name, None, False)
        if info.error:
            continue
        group = click.Group()
        with _guarded(info, "in register_commands"):
            impl.function(cli=group)
            for name, command in group.commands.items():
                commands.setdefault(name, command)
                plugins.owners.setdefault(name, info)
                info.registered.setdefault("command", []).append(name)
    plugins.commands = commands
    return commands


def command_owner(name: str) -> str | None:
    """``"plugin 'x' (distribution 'y')"`` for a plugin command, else None."""
    info = load_plugins().owners.get(name)
    if info is None:
        return None
    if info.distribution:
        return f"plugin '{info.name}' (distribution '{info.distribution}')"
    return f"plugin '{info.name}'"


def reset_plugins() -> None:
    """Forget the loaded plugins (tests, and after installing a plugin in-process)."""
    global _loaded
    _loaded = None


def registry() -> Registry:
    """The registry of all loaded plugins' components."""
    return load_plugins().registry


def register_plugin(module, name: str) -> None:
    """Register a plugin object at run time (tests, notebooks) and refresh the registry."""
    plugins = load_plugins()
    plugins.manager.register(module, name=name)
    plugins.info[name] = PluginInfo(name, None, False, None)
    plugins.commands, plugins.owners = None, {}
    plugins.registry = _fill_registry(plugins.manager, _reset_registered(plugins.info))


def unregister_plugin(name: str) -> None:
    """Undo :func:`register_plugin`."""
    plugins = load_plugins()
    plugins.manager.unregister(name=name)
    plugins.info.pop(name, None)
    plugins.commands, plugins.owners = None, {}
    plugins.registry = _fill_registry(plugins.manager, _reset_registered(plugins.info))


def _reset_registered(info: dict) -> dict:
    for plugin_info in info.values():
        plugin_info.registered = {}
    return info
