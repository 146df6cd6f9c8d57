"""Named components registered by plugins, one table per extension kind."""

from dataclasses import dataclass, field

from .errors import UsageError

KINDS = {
    "dataset_adapter": ("register_dataset_adapters", "dataset adapter"),
    "formatter": ("register_formatters", "formatter"),
    "trainer": ("register_trainers", "trainer"),
    "exporter": ("register_exporters", "exporter"),
    "evaluator": ("register_evaluators", "evaluator"),
    "logger": ("register_loggers", "metrics logger"),
    "filter": ("register_filters", "filter"),
}


@dataclass
class Entry:
    """A registered component and the plugin that supplied it."""

    name: str
    component: object
    plugin: str

    @property
    def summary(self) -> str:
        doc = (getattr(self.component, "__doc__", None) or "").strip()
        return doc.splitlines()[0] if doc else ""


@dataclass
class Registry:
    """Components by kind and name; refuses a second component under a taken name."""

    tables: dict = field(default_factory=lambda: {kind: {} for kind in KINDS})

    def add(self, kind: str, component, plugin: str) -> None:
        name = getattr(component, "name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{KINDS[kind][1]} {component!r} has no 'name' attribute")
        table = self.tables[kind]
        if name in table:
            raise ValueError(
                f"{KINDS[kind][1]} '{name}' is already registered by plugin "
                f"'{table[name].plugin}'; pick another name"
            )
        table[name] = Entry(name, component, plugin)

    def names(self, kind: str) -> list[str]:
        return sorted(self.tables[kind])

    def get(self, kind: str, name: str, option: str | None = None):
        """The component called ``name``; an unknown name lists the ones that exist."""
        table = self.tables[kind]
        if name not in table:
            label = KINDS[kind][1]
            where = f" (option {option})" if option else ""
            known = ", ".join(sorted(table)) or "none"
            raise UsageError(
                f"unknown {label} '{name}'{where}; available: {known}"
                f" (see `rvtune plugins`)"
            )
        return table[name].component

    def entries(self, kind: str) -> list[Entry]:
        return [self.tables[kind][n] for n in sorted(self.tables[kind])]
