"""The lake layout: the one module that knows where landed data lives and how it is stored.

Every reader and writer of the lake goes through here: the Flink sinks (table columns, file format
options, partition commit), dbt's lake views (the glob of committed files), Dagster's lake scan and
pending-build logic, replay, the privacy rewrites (``imagify forget``, prompt expiry), the real-time
store, the benchmarks and the tests. Change the layout or the format here, and only here.

Layout (a local directory or an ``s3://bucket/prefix``)::

    <lake>/events/dt=YYYY-MM-DD/hr=HH/part-<uuid>-<subtask>-<n>   valid, deduplicated events
    <lake>/quarantine/dt=YYYY-MM-DD/hr=HH/part-...                 rejected records with reasons
    <lake>/<table>/dt=.../hr=.../_SUCCESS                           the partition has committed files
    <lake>/_landing_audit/part-...                                  records read per segment and second
    <lake>/realtime/<table>/dt=.../[hr=.../]part-...                the real-time job's windows

``dt``/``hr`` are the UTC date and hour of *landing*. A data file is visible (committed) when its
name starts with neither ``.`` (the Flink file sink's in-progress files) nor ``_`` (markers).

Format: events and quarantine are Parquet, zstd-compressed (:data:`FORMAT`), rolled on every
checkpoint (a bulk format: at most one file per partition per checkpoint per writer). A lake landed
by a version before Parquet holds JSON Lines files under the same names: the readers here accept
both (told apart by the Parquet magic bytes), and :func:`migrate` rewrites them as Parquet in place
(``imagify lake migrate``: atomic per file, resumable).

Stdlib only at import: the Flink jobs (``.venv-flink``) use the layout and the sink options; the
readers and writers import DuckDB (``.venv``) when called.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EVENTS = "events"
QUARANTINE = "quarantine"
AUDIT = "_landing_audit"
REALTIME = "realtime"
LANDED_TABLES = (EVENTS, QUARANTINE)

SUCCESS_FILE = "_SUCCESS"
PARQUET_MAGIC = b"PAR1"
FORMAT = "parquet"
COMPRESSION = "zstd"
PARTITION_KEYS = ("dt", "hr")

# Columns of the landed tables: (name, Flink SQL type, DuckDB type, Glue/Hive type). The partition
# columns dt/hr (strings) come from the directory names.
COLUMNS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    EVENTS: (
        ("event_id", "STRING", "VARCHAR", "string"),
        ("event_type", "STRING", "VARCHAR", "string"),
        ("schema_version", "INT", "INTEGER", "int"),
        ("occurred_at", "TIMESTAMP(3)", "TIMESTAMP_MS", "timestamp"),
        ("user_id", "STRING", "VARCHAR", "string"),
        ("session_id", "STRING", "VARCHAR", "string"),
        ("source", "STRING", "VARCHAR", "string"),
        ("properties", "STRING", "VARCHAR", "string"),  # the event's properties object, as JSON text
        ("landed_at", "TIMESTAMP(3)", "TIMESTAMP_MS", "timestamp"),
        ("segment", "STRING", "VARCHAR", "string"),
    ),
    QUARANTINE: (
        ("payload", "STRING", "VARCHAR", "string"),  # the record as received (invalid bytes as \\xNN)
        ("reason", "STRING", "VARCHAR", "string"),
        ("detail", "STRING", "VARCHAR", "string"),
        ("segment", "STRING", "VARCHAR", "string"),
        ("landed_at", "TIMESTAMP(3)", "TIMESTAMP_MS", "timestamp"),
        ("record_key", "STRING", "VARCHAR", "string"),  # sha256 of the raw bytes
    ),
    AUDIT: (
        ("segment", "STRING", "VARCHAR", "string"),
        ("records", "BIGINT", "BIGINT", "bigint"),
        ("window_end", "TIMESTAMP(3)", "TIMESTAMP_MS", "timestamp"),
    ),
}

PARTITION_DIR = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
HOUR_DIR = re.compile(r"^hr=(\d{2})$")


class LakeError(RuntimeError):
    """A lake file that cannot be read or rewritten (the message names the file)."""


# ------------------------------------------------------------------------------------------------
# paths and partitions
# ------------------------------------------------------------------------------------------------
def table_path(lake_root: str | Path, table: str) -> str:
    """``<lake>/<table>`` for a local directory or an ``s3://`` prefix (as a string)."""
    return f"{str(lake_root).rstrip('/')}/{table}"


def table_dir(lake_dir: Path, table: str) -> Path:
    return Path(lake_dir) / table


def partition_values(landed_at: datetime) -> tuple[str, str]:
    """(dt, hr) of a landing time (naive UTC or aware)."""
    return landed_at.strftime("%Y-%m-%d"), landed_at.strftime("%H")


def partition_dir(lake_dir: Path, table: str, dt: str, hr: str | None) -> Path:
    """The directory of a partition (``hr`` None: a day partition of a real-time table)."""
    day = Path(lake_dir) / table / f"dt={dt}"
    return day if hr is None else day / f"hr={hr}"


def partition_of(path: Path) -> tuple[str | None, str | None]:
    """(dt, hr) of a file or directory inside a partition (None where the path has no such level)."""
    dt = hr = None
    for p in (path, *path.parents):
        if hr is None and (m := HOUR_DIR.match(p.name)):
            hr = m.group(1)
        elif m := PARTITION_DIR.match(p.name):
            dt = m.group(1)
            break
    return dt, hr


def is_visible(name: str) -> bool:
    """A committed data file's name: not in progress (``.``-prefixed) and not a marker (``_``)."""
    return not name.startswith((".", "_"))


def is_in_progress(name: str) -> bool:
    return name.startswith(".")


def visible_glob(lake_dir: str | Path, table: str) -> str:
    """Glob of the committed data files of a partitioned table (DuckDB / dbt lake views)."""
    return f"{str(lake_dir).rstrip('/')}/{table}/dt=*/hr=*/[!._]*"


def realtime_table(name: str) -> str:
    """The table name (for :func:`partitions`, :func:`data_files`) of a real-time job's table."""
    return f"{REALTIME}/{name}"


def mark_committed(partition: Path) -> Path:
    """Mark a partition directory committed (its ``_SUCCESS`` file), as the sinks' commit policy does."""
    partition.mkdir(parents=True, exist_ok=True)
    marker = partition / SUCCESS_FILE
    marker.touch()
    return marker


def success_file(partition: Path) -> Path:
    """The commit marker of a partition directory (its mtime is when files were last committed)."""
    return partition / SUCCESS_FILE


@dataclass
class Partition:
    table: str
    dt: str
    hr: str | None  # None for the real-time tables partitioned by day only
    path: Path
    committed: bool  # has _SUCCESS
    files: list[Path] = field(default_factory=list)  # visible data files, sorted

    @property
    def key(self) -> str:
        return self.dt if self.hr is None else f"{self.dt}/{self.hr}"

    @property
    def start(self) -> datetime:
        """The start of the partition's landing hour (or day), naive UTC."""
        return datetime.strptime(f"{self.dt} {self.hr or '00'}", "%Y-%m-%d %H")

    @property
    def hours(self) -> int:
        return 24 if self.hr is None else 1


def _listdir(d: Path) -> list[str]:
    try:
        return sorted(os.listdir(d))
    except (FileNotFoundError, NotADirectoryError):
        return []


def partitions(lake_dir: Path, table: str, since_dt: str | None = None) -> Iterator[Partition]:
    """The dt=/hr= partitions of a table, oldest first, with their visible files.

    ``table`` is ``events``, ``quarantine`` or a real-time table (:func:`realtime_table`); a real-time
    table partitioned by day only (``dt=`` holding the files) yields partitions with ``hr`` None.
    Partitions are listed whether committed (``_SUCCESS``) or not; files in progress are never listed.
    """
    base = table_dir(lake_dir, table)
    for dt_name in _listdir(base):
        m = PARTITION_DIR.match(dt_name)
        dt_dir = base / dt_name
        if m is None or not dt_dir.is_dir() or (since_dt is not None and m.group(1) < since_dt):
            continue
        names = _listdir(dt_dir)
        hours = [n for n in names if HOUR_DIR.match(n) and (dt_dir / n).is_dir()]
        if not hours:
            files = [dt_dir / n for n in names if is_visible(n) and (dt_dir / n).is_file()]
            if files or SUCCESS_FILE in names:
                yield Partition(table, m.group(1), None, dt_dir, SUCCESS_FILE in names, files)
            continue
        for hr_name in hours:
            hr_dir = dt_dir / hr_name
            inner = _listdir(hr_dir)
            files = [hr_dir / n for n in inner if is_visible(n)]
            yield Partition(table, m.group(1), hr_name[3:], hr_dir, SUCCESS_FILE in inner, files)


def data_files(lake_dir: Path, table: str) -> list[Path]:
    """Every visible data file of a partitioned table, oldest partition first."""
    return [f for p in partitions(lake_dir, table) for f in p.files]


def in_progress_files(lake_dir: Path, tables: Iterable[str] = (*LANDED_TABLES, AUDIT)) -> list[Path]:
    """Hidden, non-empty files of the sinks: written but not (yet) committed."""
    out = []
    for table in tables:
        base = table_dir(lake_dir, table)
        if not base.is_dir():
            continue
        for path in base.rglob(".*"):
            try:
                if path.is_file() and path.stat().st_size > 0:
                    out.append(path)
            except FileNotFoundError:
                continue
    return out


def unpartitioned_files(directory: Path) -> list[Path]:
    """Visible files of an unpartitioned table (the landing audit), sorted."""
    return [directory / n for n in _listdir(directory) if is_visible(n) and (directory / n).is_file()]


# ------------------------------------------------------------------------------------------------
# file format
# ------------------------------------------------------------------------------------------------
def file_format(path: Path) -> str:
    """``parquet`` or ``json`` (JSON Lines, written by versions before the Parquet lake)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == PARQUET_MAGIC:
        return "parquet"
    return "json"


def _duckdb():  # type: ignore[no-untyped-def]
    import duckdb  # .venv only: the Flink side never reads the lake

    con = duckdb.connect(":memory:")
    try:  # timestamps stored as UTC instants (isAdjustedToUTC) come back in UTC, not the machine's zone
        con.execute("SET TimeZone = 'UTC'")
    except duckdb.Error:  # pragma: no cover - no ICU: TIMESTAMPTZ is UTC already
        pass
    return con


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _sql_str(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def read_rows(path: Path, columns: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
    """The rows of one data file as dicts (timestamps as ``datetime``), Parquet or JSON Lines.

    JSON Lines rows are decoded as written (timestamps as text ``YYYY-MM-DD HH:MM:SS[.fff]``);
    use :func:`normalise_row` when the two must compare equal.
    """
    if file_format(path) == "json":
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    yield row if columns is None else {c: row.get(c) for c in columns}
        return
    con = _duckdb()
    try:
        select = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)
        cur = con.execute(f"SELECT {select} FROM read_parquet({_sql_str(path)}, hive_partitioning = false)")
        names = [d[0] for d in cur.description]
        aware = [i for i, d in enumerate(cur.description) if "TIME ZONE" in str(d[1]).upper()]
        while batch := cur.fetchmany(10_000):
            for values in batch:
                row = dict(zip(names, values, strict=True))
                for i in aware:
                    if row[names[i]] is not None:
                        row[names[i]] = _naive_utc(row[names[i]])
                yield row
    except Exception as exc:  # duckdb.Error has no common base we can import lazily
        raise LakeError(f"cannot read {path}: {exc}") from exc
    finally:
        con.close()


def normalise_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row with timestamps as ``YYYY-MM-DD HH:MM:SS.fff`` text, whatever the file format."""
    out = {}
    for k, v in row.items():
        if isinstance(v, datetime):
            v = v.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        elif isinstance(v, str) and k in ("occurred_at", "landed_at", "window_end") and len(v) >= 19:
            v = (v + ".000")[:23] if len(v) == 19 else v[:23].ljust(23, "0")
        out[k] = v
    return out


def count_rows(path: Path) -> int:
    """Rows in a data file: Parquet footer metadata, or non-empty lines of a JSON Lines file."""
    if file_format(path) == "parquet":
        con = _duckdb()
        try:
            row = con.execute(
                f"SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata({_sql_str(path)})"
            ).fetchone()
            return int(row[0]) if row else 0
        except Exception as exc:
            raise LakeError(f"cannot read {path}: {exc}") from exc
        finally:
            con.close()
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def sql_source(files: Iterable[Path], table: str, columns: Iterable[str] | None = None) -> str | None:
    """A DuckDB ``FROM`` expression over the given data files of a landed table, whatever their format:
    Parquet files through ``read_parquet``, legacy JSON Lines through ``read_json`` with the table's
    types, combined ``UNION ALL BY NAME``; the partition columns ``dt``/``hr`` come from the paths.
    None when there are no files."""
    cols = [c for c in COLUMNS[table] if columns is None or c[0] in set(columns)]
    by_format: dict[str, list[Path]] = {"parquet": [], "json": []}
    for f in files:
        try:
            if f.stat().st_size == 0:
                continue  # an empty legacy file: no rows (and not a Parquet file)
            by_format[file_format(f)].append(f)
        except FileNotFoundError:
            continue
    hive = "hive_partitioning = true, hive_types = {'dt': 'VARCHAR', 'hr': 'VARCHAR'}"
    select = ", ".join([*(f'"{c[0]}"' for c in cols), "dt", "hr"])
    parts = []
    if by_format["parquet"]:
        paths = ", ".join(_sql_str(f) for f in by_format["parquet"])
        parts.append(f"SELECT {select} FROM read_parquet([{paths}], {hive}, union_by_name = true)")
    if by_format["json"]:
        paths = ", ".join(_sql_str(f) for f in by_format["json"])
        types = ", ".join(f"'{n}': '{duck}'" for n, _f, duck, _g in COLUMNS[table])
        parts.append(
            f"SELECT {select} FROM read_json([{paths}], format = 'newline_delimited', {hive}, columns = {{{types}}})"
        )
    if not parts:
        return None
    return "(" + " UNION ALL BY NAME ".join(parts) + ")"


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _timestamp(value: Any) -> datetime | None:
    """A timestamp value for a Parquet column: naive UTC ``datetime`` from a datetime or SQL/ISO text."""
    if value is None or isinstance(value, datetime):
        return None if value is None else _naive_utc(value)
    if isinstance(value, str):
        text = value.strip().replace("T", " ")
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return _naive_utc(datetime.fromisoformat(text))
        except ValueError:
            raise LakeError(f"not a timestamp: {value!r}") from None
    raise LakeError(f"not a timestamp: {value!r}")


def _utf8_text(value: str | None) -> str | None:
    """Text Parquet can hold: a string with lone surrogates (undecodable bytes kept by a
    ``surrogateescape`` decode, or a ``\\udcXX`` JSON escape) gets them as ``\\xNN`` text, the lake's
    convention for bytes that are not UTF-8 (DuckDB would drop them silently)."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "surrogateescape" if _escapable(value) else "surrogatepass")
        return raw.decode("utf-8", "backslashreplace")


def _escapable(value: str) -> bool:
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in value)


def write_parquet(path: Path, table: str, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows of a lake table as one Parquet file (zstd, the table's column types), atomically:
    a hidden temporary file in the same directory, fsynced, then renamed over ``path``.

    Timestamps may be ``datetime`` (naive = UTC; aware ones are converted) or SQL/ISO text; they are
    stored with millisecond precision. Returns the number of rows written."""
    import pandas as pd  # .venv only

    if table not in COLUMNS:
        raise LakeError(f"{table!r} is not a lake table ({', '.join(COLUMNS)})")
    cols = COLUMNS[table]
    rows = list(rows)
    data: dict[str, Any] = {}
    for name, _flink, duck, _glue in cols:
        values = [r.get(name) for r in rows]
        if duck.startswith("TIMESTAMP"):
            data[name] = pd.Series([_timestamp(v) for v in values], dtype="datetime64[ns]")
        elif duck in ("INTEGER", "BIGINT"):
            try:
                data[name] = pd.Series(values, dtype="Int64")
            except (TypeError, ValueError) as exc:
                raise LakeError(f"cannot write {path}: column {name}: {exc}") from exc
        else:
            bad = next((v for v in values if v is not None and not isinstance(v, str)), None)
            if bad is not None:
                raise LakeError(f"cannot write {path}: column {name} holds {type(bad).__name__}, not text")
            data[name] = pd.Series([_utf8_text(v) for v in values], dtype="string")
    frame = pd.DataFrame(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.rewrite")
    con = _duckdb()
    try:
        con.register("rows_in", frame)
        select = ", ".join(
            f'CAST(CAST("{n}" AS TIMESTAMP) AS {duck}) AS "{n}"' if duck.startswith("TIMESTAMP") else
            f'CAST("{n}" AS {duck}) AS "{n}"'
            for n, _flink, duck, _glue in cols
        )  # fmt: skip
        con.execute(
            f"COPY (SELECT {select} FROM rows_in) TO {_sql_str(tmp)} "
            f"(FORMAT parquet, COMPRESSION {COMPRESSION}, ROW_GROUP_SIZE 1000000)"
        )
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise LakeError(f"cannot write {path}: {exc}") from exc
    finally:
        con.close()
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return len(frame)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_json_lines(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSON Lines (the landing audit, the real-time tables, a legacy lake), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.rewrite")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, default=_json_default) + "\n")
                n += 1
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return n


def rewrite_file(
    path: Path, transform: Callable[[dict[str, Any]], dict[str, Any] | None], table: str | None = None
) -> tuple[int, int]:
    """Rewrite a committed data file through ``transform`` (row → new row, or None to drop it).

    ``transform`` gets a copy of each row (changing it in place counts as a change). Atomic: every row
    is read and transformed before anything is written, and the new file replaces the old one by a
    rename, so a transform that raises (or a crash) leaves the original whole. Files of the landed
    tables (events, quarantine) are always written as Parquet: a rewritten legacy JSON file is migrated
    on the way. Other tables (the real-time job's, the audit) stay JSON Lines. A file whose rows all go
    is replaced by an empty one (its partition and ``_SUCCESS`` stay). Returns (rows kept, rows
    dropped); a file that nothing changes (and that needs no migration) is left untouched.
    """
    table = table or _table_of(path)
    if table is None:
        raise LakeError(f"{path} is not in a lake table")
    legacy = file_format(path) == "json"
    to_parquet = table in LANDED_TABLES
    kept: list[dict[str, Any]] = []
    dropped = changed = 0
    for row in read_rows(path):
        new = transform(dict(row))
        if new is None:
            dropped += 1
            continue
        if new != row:
            changed += 1
        kept.append(new)
    if to_parquet and (dropped or changed or legacy):
        write_parquet(path, table, kept)
    elif not to_parquet and (dropped or changed):
        if not legacy:
            raise LakeError(f"{path}: a Parquet file outside the landed tables ({table})")
        write_json_lines(path, kept)
    return len(kept), dropped


def _table_of(path: Path) -> str | None:
    """The table a data file belongs to: the directory above its ``dt=`` partition (``events``,
    ``quarantine``, a real-time table's name), or the landing audit."""
    for p in path.parents:
        if PARTITION_DIR.match(p.name):
            return p.parent.name
    return AUDIT if path.parent.name == AUDIT else None


# ------------------------------------------------------------------------------------------------
# upgrade path: JSON Lines lake → Parquet
# ------------------------------------------------------------------------------------------------
def legacy_files(lake_dir: Path, tables: Iterable[str] = LANDED_TABLES) -> list[Path]:
    """Visible data files of events/quarantine still in JSON Lines (written before the Parquet lake),
    oldest partition first; empty files included (they are not Parquet files either)."""
    return [f for table in tables for f in data_files(lake_dir, table) if _is_legacy(f)]


def migrate(lake_dir: Path, progress: Callable[[int, int, Path], None] | None = None) -> tuple[int, int]:
    """Rewrite every legacy JSON Lines data file of events/quarantine as Parquet, in place.

    Each file is replaced atomically by a Parquet file of the same name and rows, so an interrupted
    migration leaves every file whole, in one format or the other, and a second run carries on
    where the first stopped. Empty JSON files become empty Parquet files. Returns (files, rows).
    ``progress(i, n, path)`` is called after each file.
    """
    return migrate_files(legacy_files(lake_dir), progress)


def migrate_files(files: Iterable[Path], progress: Callable[[int, int, Path], None] | None = None) -> tuple[int, int]:
    """Rewrite the given legacy JSON Lines files of events/quarantine as Parquet, each atomically.

    DuckDB converts a file in one pass (``read_json`` with the table's types → ``COPY ... parquet``);
    a file it cannot parse (e.g. text that is not valid Unicode) goes through :func:`rewrite_file`.
    """
    todo = [f for f in files if _is_legacy(f)]
    rows = 0
    con = _duckdb()
    try:
        for i, f in enumerate(todo, 1):
            table = _table_of(f)
            if table not in LANDED_TABLES:
                raise LakeError(f"{f} is not a data file of {' or '.join(LANDED_TABLES)}")
            try:
                rows += _convert_json(con, f, table)
            except LakeError:
                rows += rewrite_file(f, lambda r: r, table)[0]
            if progress:
                progress(i, len(todo), f)
    finally:
        con.close()
    return len(todo), rows


def _convert_json(con: Any, path: Path, table: str) -> int:
    cols = COLUMNS[table]
    if path.stat().st_size == 0 or not any(line.strip() for line in _head_lines(path)):
        raise LakeError(f"{path}: empty")  # no rows to infer from: the Python path writes the empty file
    if _has_surrogate_escape(path):
        raise LakeError(f"{path}: text that is not Unicode")  # DuckDB would drop it: the Python path keeps it
    types = ", ".join(f"'{n}': '{duck}'" for n, _f, duck, _g in cols)
    select = ", ".join(f'"{n}"' for n, _f, _d, _g in cols)
    tmp = path.with_name(f".{path.name}.rewrite")
    try:
        copied = con.execute(
            f"COPY (SELECT {select} FROM read_json({_sql_str(path)}, format = 'newline_delimited', "
            f"columns = {{{types}}})) TO {_sql_str(tmp)} "
            f"(FORMAT parquet, COMPRESSION {COMPRESSION}, ROW_GROUP_SIZE 1000000)"
        ).fetchone()
        n = int(copied[0]) if copied else -1
        expected = count_rows(path)
        if n != expected:
            raise LakeError(f"{path}: {n} rows converted, {expected} in the file")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise LakeError(f"cannot convert {path}: {exc}") from exc
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return n


def _has_surrogate_escape(path: Path) -> bool:
    pattern = re.compile(rb"\\u[dD][89abcdefABCDEF]")
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            if pattern.search(tail + chunk):
                return True
            tail = chunk[-8:]
    return False


def _head_lines(path: Path, n: int = 4) -> list[bytes]:
    with open(path, "rb") as fh:
        return [fh.readline() for _ in range(n)]


def _is_legacy(path: Path) -> bool:
    try:
        return file_format(path) == "json"
    except FileNotFoundError:
        return False


# ------------------------------------------------------------------------------------------------
# Flink sink options (the landing and real-time jobs)
# ------------------------------------------------------------------------------------------------
FILE_COMMITS = ("roll", "compact")


def uri(path: str | Path) -> str:
    path = str(path)
    return path if "://" in path else f"file://{path}"


def flink_columns(table: str) -> str:
    """The column list of a landed table in Flink SQL DDL (without the partition columns)."""
    return ",\n  ".join(f"{name} {flink}" for name, flink, _duck, _glue in COLUMNS[table])


def flink_sink_options(
    path: str, *, partitioned: bool, fmt: str = FORMAT, commit: str = "roll", roll_ms: int = 2000
) -> str:
    """The WITH options of a lake sink (Flink filesystem connector).

    ``parquet`` is a bulk format: its files roll on every checkpoint (exactly-once, at most one file
    per partition per checkpoint per writer; ``commit``/``roll_ms`` do not apply). ``json`` (the
    landing audit, the real-time tables) rolls on ``roll_ms`` or compacts (``commit``).
    Partitions get a ``_SUCCESS`` file once files are committed into them.
    """
    opts = [
        "'connector' = 'filesystem'",
        f"'path' = '{uri(path)}'",
        f"'format' = '{fmt}'",
        "'sink.rolling-policy.file-size' = '128MB'",
    ]
    if fmt == "parquet":
        opts += [
            f"'parquet.compression' = '{COMPRESSION.upper()}'",
            "'parquet.write.int64.timestamp' = 'true'",
            "'parquet.timestamp.time.unit' = 'millis'",
            "'parquet.utc-timezone' = 'true'",
            # no dictionary encoding: most columns are unique per row (event_id, properties, occurred_at),
            # so the writer filled a dictionary per column and file, then threw it away (a fifth of the
            # landing job's CPU, measured: 28k → 35k records/s on 2 cores); zstd alone keeps the few
            # repetitive columns small (about 51 bytes per event with, 52 without)
            "'parquet.enable.dictionary' = 'false'",
        ]
    elif fmt == "json":
        opts += ["'json.timestamp-format.standard' = 'SQL'", "'json.encode.decimal-as-plain-number' = 'true'"]
        if commit == "compact":
            opts.append("'auto-compaction' = 'true'")
        elif commit == "roll":
            opts += [
                f"'sink.rolling-policy.rollover-interval' = '{roll_ms} ms'",
                f"'sink.rolling-policy.inactivity-interval' = '{roll_ms} ms'",
                f"'sink.rolling-policy.check-interval' = '{max(100, roll_ms // 2)} ms'",
            ]
        else:
            raise ValueError(f"unknown file commit {commit!r}; expected one of {FILE_COMMITS}")
    else:
        raise ValueError(f"unknown lake format {fmt!r}")
    if partitioned:
        opts += [
            "'partition.time-extractor.timestamp-pattern' = '$dt $hr:00:00'",
            "'sink.partition-commit.trigger' = 'process-time'",
            "'sink.partition-commit.delay' = '0 s'",
            "'sink.partition-commit.policy.kind' = 'success-file'",
        ]
    return ",\n  ".join(opts)


# ------------------------------------------------------------------------------------------------
# the lake on S3 (IMAGIFY_ENV=aws): listing and rewriting committed files in place
# ------------------------------------------------------------------------------------------------
REWRITE_SUFFIX = ".rewrite"


@dataclass
class S3File:
    """A visible data file of a lake table on S3."""

    bucket: str
    key: str
    table: str
    dt: str
    hr: str | None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def temporary_key(self) -> str:
        """Where a rewrite stages the new file: hidden (``.``-prefixed) in the same partition, so neither
        the lake's readers nor Athena (Hive tables skip ``.``/``_`` names) ever read it."""
        head, _, name = self.key.rpartition("/")
        return f"{head}/.{name}{REWRITE_SUFFIX}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix without trailing slash) of ``s3://bucket/prefix``."""
    if not uri.startswith("s3://"):
        raise LakeError(f"not an s3:// lake root: {uri}")
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket:
        raise LakeError(f"no bucket in {uri}")
    return bucket, prefix.strip("/")


def _s3_keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            yield obj["Key"]


def _s3_partition_of(rel: str) -> tuple[str, str | None, str] | None:
    """(dt, hr, file name) of a key relative to the table (``dt=../[hr=../]name``), None elsewhere."""
    parts = rel.split("/")
    if len(parts) not in (2, 3) or not (m := PARTITION_DIR.match(parts[0])):
        return None
    if len(parts) == 3:
        h = HOUR_DIR.match(parts[1])
        return (m.group(1), h.group(1), parts[2]) if h else None
    return m.group(1), None, parts[1]


def s3_data_files(s3: Any, lake_uri: str, table: str, before_dt: str | None = None) -> list[S3File]:
    """Every visible data file of a table of an S3 lake (the same partitions and names as :func:`partitions`
    lists locally), oldest partition first; ``before_dt``: only partitions ``dt < before_dt``."""
    bucket, root = split_s3_uri(table_path(lake_uri, table))
    out = []
    for key in _s3_keys(s3, bucket, root + "/"):
        where = _s3_partition_of(key[len(root) + 1 :])
        if where is None or not is_visible(where[2]) or (before_dt is not None and where[0] >= before_dt):
            continue
        out.append(S3File(bucket, key, table.rsplit("/", 1)[-1], where[0], where[1]))
    return sorted(out, key=lambda f: (f.dt, f.hr or "", f.key))


def s3_leftover_rewrites(s3: Any, lake_uri: str, table: str) -> list[str]:
    """Keys of temporary objects an interrupted :func:`rewrite_s3_file` left in a table (hidden: no reader
    sees them)."""
    bucket, root = split_s3_uri(table_path(lake_uri, table))
    return [k for k in _s3_keys(s3, bucket, root + "/")
            if (n := k.rsplit("/", 1)[-1]).startswith(".") and n.endswith(REWRITE_SUFFIX)]  # fmt: skip


def s3_remove_leftover_rewrites(s3: Any, lake_uri: str, table: str) -> int:
    """Delete the temporary objects of interrupted rewrites (after the rerun rewrote their files again)."""
    bucket, _ = split_s3_uri(lake_uri)
    keys = s3_leftover_rewrites(s3, lake_uri, table)
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    return len(keys)


def rewrite_s3_file(
    s3: Any,
    f: S3File,
    transform: Callable[[dict[str, Any]], dict[str, Any] | None],
    workdir: Path,
    dry_run: bool = False,
) -> tuple[int, int, bool]:
    """:func:`rewrite_file` for a file of an S3 lake. Returns (rows kept, rows dropped, replaced).

    The object is downloaded into ``workdir`` and rewritten there by :func:`rewrite_file` (same transform
    rules, same format). When it changed, it replaces the object under the **same key**:

    1. the new file is uploaded under :attr:`S3File.temporary_key` (hidden: invisible to every reader);
    2. it is copied onto the file's own key (``CopyObject``): S3 replaces an object atomically and lists
       strongly consistently, so a reader listing the partition sees exactly one object under that name,
       with the old rows or the new ones — never both files (a copy to a *new* name then deleting the old
       one would show both in between: the other rows twice, the removed ones still there) and never
       neither (deleting first would hide the whole file for a while);
    3. the temporary object is deleted.

    An interruption leaves the old file (before 2) or the new one (after), plus at most a hidden temporary
    object; rerunning the same rewrite is idempotent, and :func:`s3_remove_leftover_rewrites` deletes the
    temporary objects after it. ``_SUCCESS`` and the names are kept.
    A query already reading the object while it is replaced may fail (Athena reports the changed file);
    it never mixes the two versions.
    """
    local = workdir / f.dt / (f.hr or "") / f.key.rsplit("/", 1)[-1]
    local.parent.mkdir(parents=True, exist_ok=True)
    s3.download_file(f.bucket, f.key, str(local))
    before = local.read_bytes()
    try:
        if dry_run:
            kept = dropped = 0
            for row in read_rows(local):
                if transform(dict(row)) is None:
                    dropped += 1
                else:
                    kept += 1
            return kept, dropped, False
        kept, dropped = rewrite_file(local, transform, f.table)
        changed = local.read_bytes() != before
        if changed:
            s3.upload_file(str(local), f.bucket, f.temporary_key)
            s3.copy_object(Bucket=f.bucket, Key=f.key, CopySource={"Bucket": f.bucket, "Key": f.temporary_key})
            s3.delete_object(Bucket=f.bucket, Key=f.temporary_key)
        return kept, dropped, changed
    finally:
        local.unlink(missing_ok=True)
