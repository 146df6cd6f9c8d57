"""``rvtune prepare``: dataset adapter -> checked rows -> dedupe -> filter -> split -> files.

Rows stream through temporary files (read and check; dedupe and filter; split and format),
so memory stays nearly flat in the number of rows: an 8-byte hash and a few bytes of split
bookkeeping per row.
"""

import hashlib
from array import array
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .atomic import _kill_point, write_json
from .datasets import DatasetSpec, Example, check_row, choose_adapter
from .errors import DataError, RvtuneError, UsageError
from .plugins import registry as get_registry
from rvtune.formats.messages import check_renders, dedupe_prompt, format_record

SPLITS = ("train", "valid", "test")
FILTER_CHUNK = 2000
LISTED_DROPS = 100  # rows named in the manifest per reason; dropped.jsonl lists every one
DROPPED_FILE = "dropped.jsonl"
WORK_PREFIX = ".rvtune-work-"
PARTIAL = ".rvtune-partial"


@dataclass
class PrepareConfig:
    """Everything ``prepare`` needs; ``run`` builds one too."""

    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    out: str = "data"
    formatter: str = "chatml"
    system: str | None = None
    instruction_template: str | None = None
    tokenizer: str | None = None
    seed: int = 0
    valid_fraction: float = 0.1
    test_fraction: float = 0.0
    on_bad_row: str = "fail"
    filters: tuple = ()
    limit: int | None = None
    group_field: str | None = "group"  # rows sharing its value land in the same split
    overwrite: bool = False

    def identity(self) -> dict:
        """What makes two prepare runs the same (the output dir and overwrite aside)."""
        data = asdict(self)
        data.pop("out")
        data.pop("overwrite")
        data["filters"] = list(self.filters)
        return data


@dataclass
class PrepareResult:
    """Counts and paths of a finished prepare."""

    out: Path
    manifest: dict

    @property
    def counts(self) -> dict:
        return self.manifest["counts"]


def make_formatter(config: PrepareConfig):
    """The formatter instance ``config`` asks for."""
    from rvtune.formats import FormatOptions

    cls = get_registry().get("formatter", config.formatter, option="--formatter")
    return cls(FormatOptions(config.system, config.instruction_template, config.tokenizer))


def check_config(config: PrepareConfig) -> None:
    """Refuse settings that cannot work, before anything is read or written."""
    for name, value in (("--valid-fraction", config.valid_fraction),
                        ("--test-fraction", config.test_fraction)):
        if not 0 <= value < 1:
            raise UsageError(f"{name} {value}: must be at least 0 and below 1")
    if config.valid_fraction + config.test_fraction >= 1:
        raise UsageError("--valid-fraction plus --test-fraction must stay below 1")
    if config.seed < 0:
        raise UsageError(f"--seed {config.seed}: must be 0 or more")
    if config.limit is not None and config.limit < 1:
        raise UsageError(f"--limit {config.limit}: must be 1 or more (leave it out to read "
                         "every row)")
    if config.on_bad_row not in ("fail", "skip"):
        raise UsageError(f"--on-bad-row {config.on_bad_row}: use 'fail' or 'skip'")
    if config.filters:
        from .plugins import registry

        for name in config.filters:
            registry().get("filter", name, option="--filter")


def _check_out_dir(out: Path, config: PrepareConfig) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    if not any(p for p in out.iterdir() if not p.name.startswith(".rvtune")):
        return
    if config.overwrite or (out / PARTIAL).exists():  # ours, from a prepare killed mid-way
        return
    manifest = out / "manifest.json"
    if manifest.exists():
        try:
            previous = json.loads(manifest.read_text()).get("config")
        except (OSError, json.JSONDecodeError):
            previous = None
        if previous == json.loads(json.dumps(config.identity())):
            return
        raise UsageError(
            f"--out {out}: holds data prepared with other settings; "
            "pass --overwrite to replace it, or choose another --out"
        )
    raise UsageError(
        f"--out {out}: directory is not empty and is not an rvtune data directory; "
        "choose another --out (or --overwrite to write into it)"
    )


def _row_key(prompt: str, completion: str) -> int:
    digest = hashlib.blake2b(f"{prompt}\x00{completion}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _split_sizes(n: int, config: PrepareConfig) -> tuple[int, int]:
    def size(fraction):
        return 0 if fraction == 0 else max(1, round(n * fraction))

    n_valid, n_test = size(config.valid_fraction), size(config.test_fraction)
    if n - n_valid - n_test < 1:
        raise DataError(
            f"dataset has {n} usable rows, too few for a {config.valid_fraction:g} "
            f"validation and {config.test_fraction:g} test split; add rows or lower "
            "--valid-fraction / --test-fraction"
        )
    return n_valid, n_test


def _group_split(groups, n_valid: int, n_test: int, seed: int):
    """Split label (0 train, 1 valid, 2 test) per row, keeping each group in one split.

    Groups are ordered by a seeded mix of their hash, so a group's place depends on the seed
    and its own name only; whole groups go to validation until it holds ``n_valid`` rows,
    then to test, the rest to training.
    """
    import numpy as np

    ids, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    z = ids + np.uint64((seed * 0x9E3779B97F4A7C15) % (1 << 64))  # splitmix64
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    order = np.argsort(z ^ (z >> np.uint64(31)), kind="stable")
    sizes = counts[order]
    start = np.cumsum(sizes) - sizes
    to_valid = start < n_valid
    to_test = ~to_valid & (start - sizes[to_valid].sum() < n_test)
    label = np.zeros(len(ids), dtype=np.uint8)
    label[order[to_valid]] = 1
    label[order[to_test]] = 2
    if not (label == 0).any():
        raise DataError(
            f"the rows fall into only {len(ids)} groups, too few to keep whole groups out of "
            "training; lower --valid-fraction / --test-fraction or group the rows more finely"
        )
    return label[inverse]


class _Filter:
    """Runs the registered filters named by ``--filter`` over batches of rows, in order,
    recording what each drops (``register_filters`` in core/hookspecs.py)."""

    def __init__(self, names, sink=None):
        from .plugins import registry

        self.names = tuple(names)
        self.sink = sink   # every drop goes here as a JSON line (dropped.jsonl)
        self.dropped = {name: 0 for name in self.names}
        self.listed = {name: [] for name in self.names}
        self.filters = [registry().get("filter", name, option="--filter")()
                        for name in self.names]
        for row_filter in self.filters:
            if hasattr(row_filter, "prepare"):
                row_filter.prepare()

    def __call__(self, examples):
        for name, row_filter in zip(self.names, self.filters):
            if not examples:
                break
            reasons = row_filter.check([e.completion for e in examples])
            if len(reasons) != len(examples):
                raise RvtuneError(f"filter '{name}' answered {len(reasons)} verdicts for "
                                  f"{len(examples)} rows; its check() must return one per row")
            kept = []
            for example, reason in zip(examples, reasons):
                if reason is None:
                    kept.append(example)
                    continue
                self.dropped[name] += 1
                entry = {"where": example.where, "target": example.completion,
                         "message": str(reason)}
                if len(self.listed[name]) < LISTED_DROPS:
                    self.listed[name].append(entry)
                if self.sink is not None:
                    _write_drop(self.sink, example.where, name, entry["message"],
                                example.completion)
            examples = kept
        return examples


def _write_drop(sink, key: str, reason: str, message: str, target: str | None = None) -> None:
    row = {"key": key, "reason": reason, "message": message}
    if target is not None:
        row["target"] = target
    sink.write(json.dumps(row, ensure_ascii=False) + "\n")


def prepare(config: PrepareConfig, progress=None) -> PrepareResult:
    """Run the whole prepare step; returns the manifest it wrote.

    ``progress`` is an optional callable taking the number of rows read so far.
    """
    check_config(config)
    out = Path(config.out).expanduser()
    from .locks import hold

    with hold(out, "--out "):
        created = not out.exists()
        try:
            return _prepare(config, out, progress)
        except BaseException:
            if created:  # a failed prepare leaves no directory behind
                shutil.rmtree(out, ignore_errors=True)
            raise


def _prepare(config: PrepareConfig, out: Path, progress) -> PrepareResult:
    for leftover in out.glob(f"{WORK_PREFIX}*") if out.is_dir() else ():
        shutil.rmtree(leftover, ignore_errors=True)  # of a killed prepare (we hold the lock)
    _check_out_dir(out, config)
    formatter = make_formatter(config)
    reg = get_registry()
    adapter_cls = choose_adapter(config.dataset, reg)
    adapter = adapter_cls(config.dataset)
    # The work directory lives inside --out, so every rename below stays on one filesystem
    # even when --out is a mount point (a container volume).
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=out))
    drops = open(work / DROPPED_FILE, "w", encoding="utf-8")
    row_filter = _Filter(config.filters, drops)
    try:
        import numpy as np

        stats = {"read": 0, "bad_rows": 0, "duplicates": 0}
        bad_listed = []
        staged = work / "rows.jsonl"
        keys = array("Q")  # one 8-byte hash per row: dedupe without a set of objects
        with open(staged, "w", encoding="utf-8") as fh:
            for where, row in adapter.rows():
                if config.limit is not None and stats["read"] >= config.limit:
                    break
                stats["read"] += 1
                if progress and stats["read"] % 1000 == 0:
                    progress(stats["read"])
                try:
                    example = check_row(where, row, config.dataset)
                    check_renders(formatter, example)
                except DataError as exc:
                    if config.on_bad_row == "fail":
                        raise DataError(f"{exc} (or pass --on-bad-row skip)") from None
                    stats["bad_rows"] += 1
                    if len(bad_listed) < LISTED_DROPS:
                        bad_listed.append(str(exc))
                    _write_drop(drops, where, "bad_row", str(exc))
                    continue
                group = row.get(config.group_field) if config.group_field else None
                if isinstance(group, (str, int)) and str(group):
                    example.extra[config.group_field] = str(group)
                keys.append(_row_key(dedupe_prompt(example), example.completion))
                fh.write(json.dumps([example.where, example.prompt, example.completion,
                                     example.extra], ensure_ascii=False) + "\n")
        # Keep the first occurrence of every (prompt, completion).
        hashes = np.frombuffer(keys, dtype=np.uint64) if len(keys) else np.zeros(0, np.uint64)
        first = np.zeros(len(hashes), dtype=bool)
        first[np.unique(hashes, return_index=True)[1]] = True
        stats["duplicates"] = int(len(hashes) - first.sum())
        del keys, hashes

        kept = 0
        group_keys, grouped = array("Q"), 0
        unique = work / "unique.jsonl"
        with open(staged, encoding="utf-8") as src, open(unique, "w", encoding="utf-8") as dst:
            pending = []

            def flush():
                nonlocal kept, grouped
                for example in row_filter(pending):
                    group = example.extra.get(config.group_field) if config.group_field else None
                    grouped += group is not None
                    group_keys.append(_row_key("\x01group", group) if group is not None
                                      else _row_key(dedupe_prompt(example), example.completion))
                    dst.write(json.dumps([example.prompt, example.completion, example.extra],
                                         ensure_ascii=False) + "\n")
                    kept += 1
                pending.clear()

            for index, line in enumerate(src):
                if not first[index]:
                    continue
                where, prompt, completion, extra = json.loads(line)
                pending.append(Example(prompt, completion, where, extra))
                if len(pending) >= FILTER_CHUNK:
                    flush()
            flush()
        staged.unlink()
        del first

        if kept == 0:
            raise DataError(
                f"--dataset {config.dataset.source}: no usable rows ({stats['read']} read, "
                f"{stats['bad_rows']} bad, {stats['duplicates']} duplicates, "
                f"{sum(row_filter.dropped.values())} filtered out)"
            )
        n_valid, n_test = _split_sizes(kept, config)
        if grouped:
            split_of = _group_split(np.frombuffer(group_keys, dtype=np.uint64), n_valid, n_test,
                                    config.seed)
        else:
            order = np.random.default_rng(config.seed).permutation(kept)
            split_of = np.zeros(kept, dtype=np.uint8)
            split_of[order[:n_valid]] = 1
            split_of[order[n_valid:n_valid + n_test]] = 2
            del order
        split_groups = ({s: int(len(np.unique(np.frombuffer(group_keys, dtype=np.uint64)[
            split_of == i]))) for i, s in enumerate(SPLITS)} if grouped else None)
        del group_keys, grouped

        wanted = [s for s, n in zip(SPLITS, (1, n_valid, n_test)) if n]
        counts = {s: 0 for s in wanted}
        handles = {s: open(work / f"{s}.jsonl", "w", encoding="utf-8") for s in wanted}
        try:
            with open(unique, encoding="utf-8") as fh:
                for index, line in enumerate(fh):
                    prompt, completion, extra = json.loads(line)
                    record = format_record(formatter, prompt, completion, extra)
                    name = SPLITS[split_of[index]]
                    handles[name].write(json.dumps(record, ensure_ascii=False) + "\n")
                    counts[name] += 1
        finally:
            for handle in handles.values():
                handle.close()
        unique.unlink()

        from rvtune import __version__

        manifest = {
            "rvtune_version": __version__,
            "source": config.dataset.source,
            "adapter": adapter_cls.name,
            "formatter": formatter.describe(),
            "stop_strings": list(formatter.stop_strings),
            "has_bos": formatter.has_bos,
            "seed": config.seed,
            "counts": counts,
            "rows_read": stats["read"],
            "duplicates_removed": stats["duplicates"],
            **({"split_by": config.group_field, "split_groups": split_groups}
               if split_groups else {}),
            "bad_rows_skipped": stats["bad_rows"],
            "bad_rows": bad_listed,
            "dropped_rows": {"file": DROPPED_FILE, "count": stats["bad_rows"]
                             + sum(row_filter.dropped.values())},
            "filters": {
                name: {"dropped": row_filter.dropped[name], "rows": row_filter.listed[name]}
                for name in row_filter.names
            },
            "config": json.loads(json.dumps(config.identity())),
        }
        # Replacing: the marker says "these files are rvtune's, half replaced" until the new
        # manifest is in place; a kill in between leaves a directory the next prepare into
        # --out may replace and that training refuses (no manifest).
        write_json(out / PARTIAL, {"pid": os.getpid()})
        (out / "manifest.json").unlink(missing_ok=True)
        _kill_point("prepare-between-renames")
        for name in SPLITS:
            target = out / f"{name}.jsonl"
            if name in wanted:
                os.replace(work / f"{name}.jsonl", target)
            elif target.exists():
                target.unlink()
        drops.close()
        os.replace(work / DROPPED_FILE, out / DROPPED_FILE)
        write_json(out / "manifest.json", manifest)
        (out / PARTIAL).unlink()
        return PrepareResult(out, manifest)
    finally:
        drops.close()
        shutil.rmtree(work, ignore_errors=True)
