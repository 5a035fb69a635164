"""Reading event files with DuckDB and turning them into the report's metrics (defined in `docs/events.md`).

The event files are read once: a single streaming DuckDB scan folds every line into a small `facts` table, one
row per combination of the dimensions the report needs, with counts and sample-weighted page views. Lines that
are not schema v1 are classified in the same scan, so they are counted, never silently lost. Every metric is then
a cheap query over `facts`; the rows themselves never enter Python.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..events import EVENT_NAMES, FIELD_TYPES, SCHEMA_VERSION
from .stats import Interval, newcombe_difference

if TYPE_CHECKING:
    import duckdb

    from .engines import Engine

VERDICTS = ("blocked", "not_blocked", "unknown")
NONE_LABEL = "(none)"
DUCKDB_MISSING = "adguard-mw {command} needs DuckDB: pip install 'adguard-mw[report]'"

# Every v1 field, as stored in Parquet. Unknown extra fields are not carried over.
V1_COLUMNS = FIELD_TYPES

# The v1 columns the report reads. Unknown extra fields in a line are ignored (forward compatible); a field of
# the wrong type reads as null, and a line that is not a JSON object reads as all nulls (counted as malformed).
READ_COLUMNS = {
    name: V1_COLUMNS[name]
    for name in ("v", "id", "time", "event", "path", "locale", "variant", "mode", "browser", "os", "device",
                 "visitor", "verdict", "kind", "sample_rate", "cta", "slots")
}  # fmt: skip
ALWAYS_READ = ("v", "id", "time", "event", "visitor", "verdict", "kind", "sample_rate", "variant", "slots")


@dataclass(frozen=True, slots=True)
class Dimension:
    """A `--by` grouping: its SQL over the event columns and the columns it needs."""

    sql: str
    columns: tuple[str, ...]
    chronological: bool = False


DIMENSIONS = {
    "day": Dimension("CAST(time AS DATE)", ("time",), chronological=True),
    "week": Dimension("CAST(date_trunc('week', time) AS DATE)", ("time",), chronological=True),
    "browser": Dimension("browser", ("browser",)),
    "os": Dimension("os", ("os",)),
    "device": Dimension("device", ("device",)),
    "path": Dimension("path", ("path",)),
    "section": Dimension("nullif(regexp_extract(path, '^(/[^/]*)', 1), '')", ("path",)),
    "locale": Dimension("locale", ("locale",)),
    "variant": Dimension("variant", ("variant",)),
    "mode": Dimension("mode", ("mode",)),
}


class ReportError(Exception):
    """Nothing could be reported; the message says why in one line."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True, slots=True)
class Rate:
    """A rate that always carries what it was computed from; `value` is None for an empty denominator."""

    numerator: float
    denominator: float

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator > 0 else None


@dataclass(frozen=True, slots=True)
class Funnel:
    """Distinct visitors at each step after the message: shown, then dismissed / CTA / check again, recovered."""

    shown: int
    dismissed: int
    cta: int
    checked: int
    recovered: int


@dataclass(frozen=True, slots=True)
class Metrics:
    events: int
    page_views: float  # all page views, weighted by 1/sample_rate, with or without a verdict
    eligible: float  # page views detected as blocked or not blocked (Google's definition), weighted
    blocked: Rate
    extension: Rate
    network: Rate
    unknown: Rate  # unknown / (eligible + unknown): detections that could not decide
    messages_shown: int
    dismissal: Rate  # message_dismissed / message_shown
    recoveries: int
    recovery: Rate  # distinct visitors with `recovered` / distinct visitors with `message_shown`
    failed_verifications: int  # check_again still blocked
    cta_clicks: int
    exempted: int
    blocked_visitors: Rate = Rate(0, 0)  # distinct visitors with a blocked page view / with an eligible one
    allow_ads_page_views: float = 0.0  # not-blocked page views of visitors after their `recovered` event, weighted
    failed_verification: Rate = Rate(0, 0)  # check_again still blocked / check_again with a verdict
    funnel: Funnel = Funnel(0, 0, 0, 0, 0)
    messages_served: int = 0  # message_served: sent with a page; `messages_shown` counts those seen on screen
    slots_filled: int = 0  # house messages seen in blocked ad slots: the sum of `slots` over slot_filled events
    slot_readers: int = 0  # distinct visitors who saw one

    @property
    def unconfirmed(self) -> int:
        """Messages sent with a page but never confirmed on screen (hidden by a filter, left before it showed)."""
        return max(self.messages_served - self.messages_shown, 0)


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    metrics: Metrics


@dataclass(frozen=True, slots=True)
class Comparison:
    """A variant against the baseline: differences (variant minus baseline) with 95% intervals."""

    variant: str
    recovery: Interval | None
    dismissal: Interval | None


@dataclass(frozen=True, slots=True)
class Skipped:
    malformed: int = 0  # not a JSON object, truncated, or no integer `v`
    versions: dict[int, int] = field(default_factory=dict)  # lines per other schema version
    invalid: int = 0  # schema v1 but an unknown event, no time, or a page_view without valid sample_rate/verdict

    @property
    def total(self) -> int:
        return self.malformed + self.invalid + sum(self.versions.values())

    def describe(self) -> str:
        """E.g. "3 malformed lines, 1 line with schema v2"; empty when nothing was skipped."""
        parts = []
        if self.malformed:
            parts.append(_lines(self.malformed, "malformed"))
        for version, count in sorted(self.versions.items()):
            parts.append(f"{_lines(count)} with schema v{version}")
        if self.invalid:
            parts.append(_lines(self.invalid, "invalid v1"))
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Inputs:
    jsonl: tuple[Path, ...]
    parquet: tuple[Path, ...]
    missing: tuple[str, ...] = ()  # paths given that do not exist
    datasets: tuple[str, ...] = ()  # s3://bucket/prefix URLs of Parquet datasets
    since: dt.date | None = None  # the days the inputs were chosen for: a dataset's other dt= partitions are
    until: dt.date | None = None  # never read

    @property
    def files(self) -> int:
        return len(self.jsonl) + len(self.parquet) + len(self.datasets)


@dataclass(frozen=True)
class Report:
    inputs: Inputs
    since: dt.date | None
    until: dt.date | None
    by: str | None
    skipped: Skipped
    first: dt.datetime | None
    last: dt.datetime | None
    total: Metrics
    groups: list[Group]  # by `by`, empty without it
    variants: list[Group]  # named variants, alphabetically
    baseline: str | None
    comparisons: list[Comparison]  # every variant but the baseline
    days: list[Group] = field(default_factory=list)  # for charts
    browsers: list[Group] = field(default_factory=list)  # for charts

    @property
    def lines(self) -> int:
        return self.total.events + self.skipped.total


def find_inputs(paths: Iterable[str | Path], since: dt.date | None = None, until: dt.date | None = None) -> Inputs:
    """Event files under the given files and directories, without day partitions outside [since, until]."""
    jsonl: list[Path] = []
    parquet: list[Path] = []
    missing: list[str] = []
    datasets: list[str] = []
    for given in paths:
        if isinstance(given, str) and given.lower().startswith("s3://"):
            datasets.append(given)
            continue
        path = Path(given)
        if path.is_dir():
            candidates = sorted(p for pattern in ("*.jsonl", "*.parquet") for p in path.rglob(pattern) if p.is_file())
        elif path.is_file():
            candidates = [path]
        else:
            missing.append(str(given))
            continue
        for candidate in candidates:
            if not day_in_range(candidate, since, until):
                continue
            (parquet if candidate.suffix == ".parquet" else jsonl).append(candidate)
    return Inputs(
        tuple(dict.fromkeys(jsonl)), tuple(dict.fromkeys(parquet)), tuple(missing), tuple(datasets), since, until
    )


def partition_day(path: Path | str) -> dt.date | None:
    """The UTC day of a file in a `dt=YYYY-MM-DD` directory (a local path or an object key), else None."""
    name = Path(path).parent.name
    if name.startswith("dt="):
        try:
            return dt.date.fromisoformat(name[3:])
        except ValueError:
            return None
    return None


def day_in_range(path: Path | str, since: dt.date | None, until: dt.date | None) -> bool:
    # Partition pruning in Python: files of days outside the range are never opened. (DuckDB's hive
    # partitioning would do the same, but it needs every file in the layout; single files are allowed too.)
    day = partition_day(path)
    if day is None:
        return True
    return (since is None or day >= since) and (until is None or day <= until)


def connect(command: str = "report") -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB; DuckDB is an optional extra, imported only here."""
    try:
        import duckdb
    except ImportError:
        raise ReportError(DUCKDB_MISSING.format(command=command)) from None
    con = duckdb.connect()
    # Progress is tracked (query_progress) but not printed: DuckDB's own bar would write to stdout, where the
    # report goes; the report draws its own on stderr. Timestamps are UTC, whatever the machine's zone.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    con.execute("SET TimeZone = 'UTC'")
    return con


def build_report(
    inputs: Inputs,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    by: str | None = None,
    baseline: str | None = None,
    charts: bool = False,
    progress: Callable[[float], None] | None = None,
    engine: str = "duckdb",
    master: str | None = None,
) -> Report:
    """Scan the files once and compute every metric; raises ReportError when nothing could be read.

    `engine` is "duckdb" (embedded, the default) or "spark" (`master` as for spark-submit, default local):
    both run the same SQL below, so both give the same figures."""
    if by is not None and by not in DIMENSIONS:
        raise ReportError(f"unknown grouping {by!r}; choose one of {', '.join(DIMENSIONS)}", usage=True)
    if since and until and since > until:
        raise ReportError(f"--since {since} is after --until {until}", usage=True)
    if not inputs.files:
        raise ReportError("no event files (*.jsonl, *.parquet) to read")
    from .engines import open_engine

    dimensions = {"variant"} | ({by} if by else set()) | ({"day", "browser"} if charts else set())
    needed = set(ALWAYS_READ)
    for name in dimensions:
        needed.update(DIMENSIONS[name].columns)
    columns = [name for name in READ_COLUMNS if name in needed]
    db = open_engine(engine, master=master, progress=progress)
    try:
        db.load(inputs, columns)
        db.materialize("facts", facts_sql(sorted(dimensions), since, until))
        skipped = _skipped(db)
        span = db.rows("SELECT min(first), max(last) FROM facts WHERE problem IS NULL")
        first, last = span[0] if span else (None, None)
        total = _metrics(db, None)
        if not total or total[0][1].events == 0:
            detail = f": skipped {skipped.describe()}" if skipped.total else ""
            period = _period(since, until)
            raise ReportError(f"no events could be read from {_files(inputs.files)}{period}{detail}")
        variants = [group for group in _groups(db, "variant") if group.key != NONE_LABEL]
        names = [group.key for group in variants]
        if baseline is not None and baseline not in names:
            known = ", ".join(names) or "none"
            raise ReportError(f"no variant {baseline!r} in these events (variants: {known})", usage=True)
        chosen = baseline if baseline is not None else (names[0] if names else None)
        return Report(
            inputs=inputs,
            since=since,
            until=until,
            by=by,
            skipped=skipped,
            first=first,
            last=last,
            total=total[0][1],
            groups=[g for g in _groups(db, by) if not _empty_none_variant(by, g)] if by else [],
            variants=variants,
            baseline=chosen,
            comparisons=compare(variants, chosen),
            days=_groups(db, "day") if charts else [],
            browsers=_groups(db, "browser") if charts else [],
        )
    finally:
        db.close()


def compare(variants: Sequence[Group], baseline: str | None) -> list[Comparison]:
    """Each variant against the baseline, for the two rates a message variant is meant to move."""
    reference = next((group.metrics for group in variants if group.key == baseline), None)
    if reference is None:
        return []
    comparisons = []
    for group in variants:
        if group.key == baseline:
            continue
        m = group.metrics
        comparisons.append(
            Comparison(
                group.key,
                recovery=newcombe_difference(
                    m.recovery.numerator,
                    m.recovery.denominator,
                    reference.recovery.numerator,
                    reference.recovery.denominator,
                ),
                dismissal=newcombe_difference(
                    m.dismissal.numerator,
                    m.dismissal.denominator,
                    reference.dismissal.numerator,
                    reference.dismissal.denominator,
                ),
            )
        )
    return comparisons


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_list(paths: Iterable[Path]) -> str:
    return "[" + ", ".join(_sql_string(str(path)) for path in paths) + "]"


def typed_json_sql(name: str, kind: str) -> str:
    """A JSON value read as `kind` only when it has that JSON type, else NULL: `"visitor": 123` is no visitor
    and `"v": "1"` no version (DuckDB's own conversion would coerce both)."""
    if kind == "JSON":
        return name
    if kind == "VARCHAR":
        return f"CASE WHEN json_type({name}) = 'VARCHAR' THEN {name} ->> '$' END"
    if kind == "BIGINT":
        return f"CASE WHEN json_type({name}) IN ('BIGINT', 'UBIGINT') THEN TRY_CAST({name} AS BIGINT) END"
    if kind == "DOUBLE":
        return f"CASE WHEN json_type({name}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN TRY_CAST({name} AS DOUBLE) END"
    if kind == "TIMESTAMP":
        return f"CASE WHEN json_type({name}) = 'VARCHAR' THEN TRY_CAST({name} ->> '$' AS TIMESTAMP) END"
    raise ValueError(kind)  # pragma: no cover


def jsonl_sql(files: Sequence[Path], columns: Sequence[str], all_columns: dict[str, str] = READ_COLUMNS) -> str:
    """JSON lines files as a relation with exactly `columns`, each of its documented type (or NULL)."""
    schema = "{" + ", ".join(f"{name}: 'JSON'" for name in columns) + "}"
    typed = ", ".join(f"{typed_json_sql(name, all_columns[name])} AS {name}" for name in columns)
    return (
        f"SELECT {typed} FROM read_json({_sql_list(files)}, columns = {schema}, "
        "format = 'newline_delimited', ignore_errors = true, hive_partitioning = false)"
    )


def _source_sql(
    inputs: Inputs,
    columns: Sequence[str],
    all_columns: dict[str, str] = READ_COLUMNS,
    present: set[str] | None = None,
) -> str:
    """One relation over every local input file, with exactly `columns` (DuckDB); a column no Parquet file has
    (`present`: those they have, e.g. `slots` in files older than it) reads as NULL."""
    parts = []
    if inputs.jsonl:
        parts.append(jsonl_sql(inputs.jsonl, columns, all_columns))
    if inputs.parquet:
        casts = ", ".join(
            f"CAST({name if present is None or name in present else 'NULL'} AS {all_columns[name]}) AS {name}"
            for name in columns
        )
        parts.append(
            f"SELECT {casts} FROM read_parquet({_sql_list(inputs.parquet)}, union_by_name = true, "
            "hive_partitioning = false)"
        )
    return " UNION ALL ".join(parts)


def problem_sql() -> str:
    """SQL naming what is wrong with a line ('malformed', 'version', 'invalid'), NULL for a valid v1 event."""
    events = ", ".join(_sql_string(name) for name in EVENT_NAMES)
    verdicts = ", ".join(_sql_string(name) for name in VERDICTS)
    return (
        "CASE WHEN v IS NULL THEN 'malformed' "
        f"WHEN v <> {SCHEMA_VERSION} THEN 'version' "
        f"WHEN time IS NULL OR event IS NULL OR event NOT IN ({events}) THEN 'invalid' "
        "WHEN event = 'page_view' AND NOT coalesce(sample_rate > 0 AND sample_rate <= 1, false) THEN 'invalid' "
        f"WHEN event = 'page_view' AND verdict NOT IN ({verdicts}) THEN 'invalid' "
        "END"
    )


def unique_sql(relation: str, columns: Sequence[str]) -> str:
    """The rows of `relation` with each event id once; rows without an id (older events) all stay.

    Shipping at least once and copying files twice must never double a figure. Copies of an event are equal; if
    one was damaged (a field of the wrong type reads as null), `min` keeps the value the others carry. A hash
    aggregate on `id`: much cheaper than a window sorting each id's copies."""
    listed = ", ".join(columns)
    firsts = ", ".join(f"min({name}) AS {name}" if name != "id" else "id" for name in columns)
    return f"""
        SELECT {listed} FROM {relation} WHERE id IS NULL
        UNION ALL
        SELECT {firsts} FROM {relation} WHERE id IS NOT NULL GROUP BY id
    """


def facts_sql(dimensions: Sequence[str], since: dt.date | None, until: dt.date | None) -> str:
    """The `facts` table from the relation `events`: plain SQL that DuckDB and Spark both run."""
    keys = "".join(f"{DIMENSIONS[name].sql} AS k_{name}, " for name in dimensions)
    conditions = []
    if since is not None:
        conditions.append(f"time >= TIMESTAMP '{since.isoformat()} 00:00:00'")
    if until is not None:
        conditions.append(f"time < TIMESTAMP '{(until + dt.timedelta(days=1)).isoformat()} 00:00:00'")
    where = f"WHERE time IS NULL OR ({' AND '.join(conditions)})" if conditions else ""
    needed = {"v", "id", "time", "event", "visitor", "verdict", "kind", "sample_rate", "slots"}
    for name in dimensions:
        needed.update(DIMENSIONS[name].columns)
    columns = [name for name in READ_COLUMNS if name in needed]
    return f"""
        WITH in_range AS (SELECT * FROM events {where}),
        unique_events AS (SELECT *, {problem_sql()} AS problem FROM ({unique_sql("in_range", columns)}) copies),
        recovered_at AS (
            SELECT visitor AS recovered_visitor, min(time) AS recovered_time FROM unique_events
            WHERE problem IS NULL AND event = 'recovered' AND visitor IS NOT NULL GROUP BY visitor
        )
        SELECT
            problem,
            CASE WHEN v <> {SCHEMA_VERSION} THEN v END AS other_version,
            {keys}
            event, verdict, kind,
            CASE
                WHEN event IN ('message_shown', 'message_dismissed', 'cta_clicked', 'check_again', 'recovered',
                               'slot_filled')
                    THEN visitor
                WHEN event = 'page_view' AND verdict IN ('blocked', 'not_blocked') THEN visitor
            END AS who,
            CASE WHEN event = 'page_view' AND time > recovered_time THEN 1 ELSE 0 END AS after_recovery,
            count(*) AS n,
            sum(CASE WHEN event = 'page_view' THEN 1.0 / sample_rate END) AS w,
            sum(CASE WHEN event = 'slot_filled' THEN slots END) AS s,
            min(time) AS first,
            max(time) AS last
        FROM unique_events LEFT JOIN recovered_at ON visitor = recovered_visitor
        GROUP BY ALL
    """


METRICS_SQL = """
    coalesce(sum(n), 0) AS events,
    coalesce(sum(w) FILTER (WHERE event = 'page_view'), 0) AS page_views,
    coalesce(sum(w) FILTER (WHERE event = 'page_view' AND verdict IN ('blocked', 'not_blocked')), 0) AS eligible,
    coalesce(sum(w) FILTER (WHERE event = 'page_view' AND verdict = 'blocked'), 0) AS blocked,
    coalesce(sum(w) FILTER (WHERE event = 'page_view' AND verdict = 'blocked' AND kind = 'extension'), 0) AS extension,
    coalesce(sum(w) FILTER (WHERE event = 'page_view' AND verdict = 'blocked' AND kind = 'network'), 0) AS network,
    coalesce(sum(w) FILTER (WHERE event = 'page_view' AND verdict = 'unknown'), 0) AS unknown,
    coalesce(sum(n) FILTER (WHERE event = 'message_shown'), 0) AS shown,
    coalesce(sum(n) FILTER (WHERE event = 'message_dismissed'), 0) AS dismissed,
    coalesce(sum(n) FILTER (WHERE event = 'recovered'), 0) AS recoveries,
    count(DISTINCT who) FILTER (WHERE event = 'recovered') AS recovered_visitors,
    count(DISTINCT who) FILTER (WHERE event = 'message_shown') AS shown_visitors,
    coalesce(sum(n) FILTER (WHERE event = 'check_again' AND verdict = 'blocked'), 0) AS failed,
    coalesce(sum(n) FILTER (WHERE event = 'cta_clicked'), 0) AS cta,
    coalesce(sum(n) FILTER (WHERE event = 'exempted'), 0) AS exempted,
    count(DISTINCT who) FILTER (WHERE event = 'page_view' AND verdict = 'blocked') AS blocked_visitors,
    count(DISTINCT who) FILTER (WHERE event = 'page_view') AS eligible_visitors,
    coalesce(sum(w) FILTER (WHERE event = 'page_view' AND verdict = 'not_blocked' AND after_recovery = 1), 0)
        AS allow_ads,
    coalesce(sum(n) FILTER (WHERE event = 'check_again' AND verdict IS NOT NULL), 0) AS checks,
    count(DISTINCT who) FILTER (WHERE event = 'message_dismissed') AS dismissed_visitors,
    count(DISTINCT who) FILTER (WHERE event = 'cta_clicked') AS cta_visitors,
    count(DISTINCT who) FILTER (WHERE event = 'check_again') AS checked_visitors,
    coalesce(sum(n) FILTER (WHERE event = 'message_served'), 0) AS served,
    coalesce(sum(s) FILTER (WHERE event = 'slot_filled'), 0) AS slots_filled,
    count(DISTINCT who) FILTER (WHERE event = 'slot_filled') AS slot_readers
"""


def _metrics(db: Engine, dimension: str | None) -> list[tuple[Any, Metrics]]:
    if dimension is None:
        sql = f"SELECT NULL AS key, {METRICS_SQL} FROM facts WHERE problem IS NULL"
    else:
        sql = f"SELECT k_{dimension} AS key, {METRICS_SQL} FROM facts WHERE problem IS NULL GROUP BY k_{dimension}"
    return [(row[0], _to_metrics(row[1:])) for row in db.rows(sql)]


def _to_metrics(row: Sequence[Any]) -> Metrics:
    (events, page_views, eligible, blocked, extension, network, unknown, shown, dismissed, recoveries) = row[:10]
    recovered_visitors, shown_visitors, failed, cta, exempted = row[10:15]
    blocked_visitors, eligible_visitors, allow_ads, checks, dismissed_visitors, cta_visitors, checked = row[15:22]
    served, slots_filled, slot_readers = row[22:]
    return Metrics(
        events=int(events),
        page_views=float(page_views),
        eligible=float(eligible),
        blocked=Rate(float(blocked), float(eligible)),
        extension=Rate(float(extension), float(eligible)),
        network=Rate(float(network), float(eligible)),
        unknown=Rate(float(unknown), float(eligible) + float(unknown)),
        messages_shown=int(shown),
        dismissal=Rate(int(dismissed), int(shown)),
        recoveries=int(recoveries),
        recovery=Rate(int(recovered_visitors), int(shown_visitors)),
        failed_verifications=int(failed),
        cta_clicks=int(cta),
        exempted=int(exempted),
        blocked_visitors=Rate(int(blocked_visitors), int(eligible_visitors)),
        allow_ads_page_views=float(allow_ads),
        failed_verification=Rate(int(failed), int(checks)),
        funnel=Funnel(
            int(shown_visitors), int(dismissed_visitors), int(cta_visitors), int(checked), int(recovered_visitors)
        ),
        messages_served=int(served),
        slots_filled=int(slots_filled),
        slot_readers=int(slot_readers),
    )


def _groups(db: Engine, dimension: str) -> list[Group]:
    rows = _metrics(db, dimension)
    if DIMENSIONS[dimension].chronological or dimension == "variant":
        rows.sort(key=lambda row: (row[0] is None, row[0] if row[0] is not None else ""))
    else:
        rows.sort(key=lambda row: (-row[1].eligible, -row[1].events, str(row[0])))
    return [Group(_label(dimension, key), metrics) for key, metrics in rows]


def _empty_none_variant(dimension: str, group: Group) -> bool:
    """Events without a variant (crawlers, exemptions) make a row of dashes under `--by variant`: left out."""
    m = group.metrics
    return dimension == "variant" and group.key == NONE_LABEL and not (m.page_views or m.messages_shown)


def _label(dimension: str, key: Any) -> str:
    if key is None or key == "":
        return NONE_LABEL
    if dimension == "week" and isinstance(key, dt.date):
        year, week, _ = key.isocalendar()
        return f"{year}-W{week:02d}"
    if isinstance(key, dt.date):
        return key.isoformat()
    return str(key)


def _skipped(db: Engine) -> Skipped:
    malformed = invalid = 0
    versions: dict[int, int] = {}
    for problem, version, count in db.rows(
        "SELECT problem, other_version, sum(n) FROM facts WHERE problem IS NOT NULL GROUP BY problem, other_version"
    ):
        if problem == "malformed":
            malformed += int(count)
        elif problem == "version":
            versions[int(version)] = versions.get(int(version), 0) + int(count)
        else:
            invalid += int(count)
    return Skipped(malformed, versions, invalid)


def _lines(count: int, adjective: str = "") -> str:
    noun = "line" if count == 1 else "lines"
    return f"{count:,} {adjective} {noun}" if adjective else f"{count:,} {noun}"


def _files(count: int) -> str:
    return f"{count:,} file" if count == 1 else f"{count:,} files"


def _period(since: dt.date | None, until: dt.date | None) -> str:
    if since and until:
        return f" between {since} and {until}"
    if since:
        return f" since {since}"
    if until:
        return f" until {until}"
    return ""


def stderr_progress(label: str = "reading events") -> Callable[[float], None] | None:
    """A progress callback printing to stderr, or None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(percent: float) -> None:
        filled = math.floor(max(0.0, min(percent, 100.0)) / 5)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (20 - filled)}] {percent:3.0f}%")
        sys.stderr.flush()

    return show
