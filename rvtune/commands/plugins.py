"""``rvtune plugins``: what is installed and what each plugin registers."""

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json):
    """List plugins (built-in and third-party), their versions, and what they register."""
    from rvtune.core.plugins import load_plugins, plugin_commands

    loaded = load_plugins()
    plugin_commands()  # a plugin failing in register_commands shows as failed too
    rows = [
        {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "builtin": info.builtin,
            "status": "failed" if info.error else "ok",
            "error": info.error,
            "registers": info.registered,
        }
        for info in loaded.info.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="rvtune plugins")
    for column in ("plugin", "version", "status", "registers"):
        table.add_column(column)
    for row in rows:
        registers = "; ".join(f"{kind}: {', '.join(names)}"
                              for kind, names in row["registers"].items())
        status = row["status"] if not row["error"] else f"failed: {row['error']}"
        label = row["name"] if row["builtin"] else f"{row['name']} ({row['distribution']})"
        table.add_row(label, row["version"] or "-", status, registers or "-")
    Console(width=max(100, Console().width)).print(table)
