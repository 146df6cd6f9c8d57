"""The hooks a plugin can implement: one per extension kind.

Each ``register_*`` hook receives a ``register`` callback. Call it once per component
(usually a class) that has a ``name`` attribute and a docstring; the core keeps the registry,
refuses duplicate names and records which plugin supplied what. These docstrings are the
reference documentation for plugin authors (``docs/plugins.md`` quotes them).
"""

import pluggy

hookspec = pluggy.HookspecMarker("rvtune")


@hookspec
def register_dataset_adapters(register):
    """Register dataset adapters: classes that turn a ``--dataset`` source into raw rows.

    An adapter class has ``name``, a docstring, ``__init__(self, spec)`` taking a
    :class:`rvtune.core.datasets.DatasetSpec` and ``rows(self)`` yielding ``(where, row)``
    pairs, where ``where`` locates the row for error messages (``"data.jsonl:12"``) and
    ``row`` is a dict holding at least the prompt and completion fields. An optional
    classmethod ``claims(source) -> bool`` lets it be chosen automatically for a source.
    """


@hookspec
def register_formatters(register):
    """Register prompt formatters: classes that render a (prompt, completion) pair as text.

    A formatter class has ``name``, a docstring, ``__init__(self, options)`` taking a
    :class:`rvtune.formats.FormatOptions`, and ``render_prompt(prompt) -> str`` (the text a
    model is given at generation time) and ``render_completion(completion) -> str`` (what
    follows it in a training example). Subclass :class:`rvtune.formats.Formatter` to get
    ``render`` and ``split`` for free.
    """


@hookspec
def register_trainers(register):
    """Register trainers: classes with ``name``, a docstring and ``train(self, job)``.

    ``job`` is a :class:`rvtune.core.jobs.TrainJob` (config, prepared data, run directory);
    ``train`` writes the adapter to ``job.run_dir`` and returns a
    :class:`rvtune.core.jobs.TrainResult`.
    """


@hookspec
def register_exporters(register):
    """Register exporters: classes with ``name``, a docstring and ``export(self, request)``.

    ``request`` is a :class:`rvtune.core.jobs.ExportRequest` (run directory, output path,
    options); the exporter writes its output atomically and returns the path written.
    """


@hookspec
def register_evaluators(register):
    """Register evaluators: classes with ``name``, a docstring and
    ``score(self, references, predictions) -> list[dict]`` judging generated outputs."""


@hookspec
def register_filters(register):
    """Register row filters: classes that drop prepared rows whose completion fails a check
    (``rvtune prepare --filter NAME``, repeatable; ``rvtune run`` passes it on).

    A filter class has ``name``, a docstring, ``__init__(self)`` and
    ``check(self, completions) -> list``: for each completion in the list, ``None`` to keep
    the row or a one-line reason to drop it. Rows come in batches of up to a few thousand, so
    a filter that starts a process (an assembler) pays for it once per batch. An optional
    ``prepare(self)`` runs before any row is read: raise
    :class:`rvtune.core.errors.UsageError` there when the filter cannot run (a missing tool).
    Dropped rows are counted per filter in ``manifest.json`` and listed in ``dropped.jsonl``.
    """


@hookspec
def register_loggers(register):
    """Register metrics loggers: classes that send each training and validation record
    somewhere besides ``metrics.jsonl`` (which stays the source of truth).

    A logger class has ``name``, a docstring, ``__init__(self, run_dir, config)`` taking
    the run directory (a ``Path``) and the run's settings (a dict), ``log(self, record)``
    and ``close(self)``. ``record`` is one line of ``metrics.jsonl``: ``type`` (``train``
    or ``val``), ``step``, ``epoch`` and the values (``loss``, ``learning_rate``,
    ``val_loss``...). ``rvtune run --log-to NAME`` turns a logger on; it runs on rank 0
    only. Import the library it needs inside ``__init__``; an optional class attribute
    ``requires = (module, install hint)`` lets ``rvtune run`` say what to install before
    training starts.
    """


@hookspec
def register_commands(cli):
    """Add commands to the ``rvtune`` click group: ``cli.command()(my_function)``.

    Keep imports of heavy libraries inside the command function, so that
    ``rvtune --help`` stays fast.
    """
