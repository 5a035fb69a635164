"""The event log: structured, pseudonymous events for analysts, written off the request path.

Events carry coarse facts only (schema in `docs/events.md`): never an IP address, a raw user-agent, a query string
or a referrer. `emit` only puts a small dict on a bounded queue; a background thread serialises and writes it to
every sink, at least once a second. When the queue is full the event is dropped and counted, so a slow disk can
cost analysts some events but never costs readers any time. A failing sink is reported once and skipped.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import orjson

from ._faults import report_fault
from .clients import _DERIVED_CACHES, MAX_USER_AGENT, describe_browser, names_brave

SCHEMA_VERSION = 1
# The events of schema v1, in the order docs/events.md lists them (the report reads the same tuple).
EVENT_NAMES = (
    "page_view",
    "verdict",
    "message_served",
    "message_shown",
    "message_dismissed",
    "cta_clicked",
    "check_again",
    "recovered",
    "exempted",
    "repeated_report",
    "slot_filled",
)
_KNOWN_EVENTS = frozenset(EVENT_NAMES)
# Every v1 field and its type, as readers store it (Parquet, DuckDB, Spark): the one description they derive from.
FIELD_TYPES = {
    "v": "BIGINT",
    "id": "VARCHAR",
    "time": "TIMESTAMP",
    "event": "VARCHAR",
    "site": "VARCHAR",
    "instance": "VARCHAR",
    "path": "VARCHAR",
    "locale": "VARCHAR",
    "variant": "VARCHAR",
    "mode": "VARCHAR",
    "browser": "VARCHAR",
    "browser_major": "VARCHAR",
    "os": "VARCHAR",
    "device": "VARCHAR",
    "visitor": "VARCHAR",
    "verdict": "VARCHAR",
    "kind": "VARCHAR",
    "sample_rate": "DOUBLE",
    "signals": "JSON",
    "previous": "VARCHAR",
    "cta": "VARCHAR",
    "reason": "VARCHAR",
    "slots": "BIGINT",
}
FLUSH_INTERVAL = 1.0  # seconds: at most this much is lost if the process dies
QUEUE_SIZE = 10_000

Record = dict[str, Any]
logger = logging.getLogger("adguard_mw.events")


class Sink(Protocol):
    """Takes batches of records on the writer thread. A sink that buffers may also have `tick()` (called at least
    once a second: write what is due), `flush()` (write everything now) and `close()`; one that may write nothing
    for a while has `active()`, False meanwhile (the writer then makes no records for it)."""

    def write(self, records: list[Record]) -> None: ...


class JsonLinesSink:
    """`<directory>/dt=YYYY-MM-DD/<instance>.jsonl`: one file per instance and UTC day, so servers never share one.

    Each batch goes out in one `write` to a file opened for appending, so a crash loses whole lines, never half.
    """

    def __init__(self, directory: str | os.PathLike[str], instance: str) -> None:
        problem = unwritable(Path(directory))
        if problem:  # found at start, not by the first event
            raise ValueError(f"adguard_mw: events: {problem}")
        self.directory = Path(directory)
        self.instance = instance
        self._day = ""
        self._fd: int | None = None

    def write(self, records: list[Record]) -> None:
        day = ""  # the day of the records below, not yet written
        lines: list[bytes] = []
        for record in records:
            if record["time"][:10] != day:  # the first record, or a batch across midnight
                if lines:
                    os.write(self._file_for(day), b"".join(lines))
                day, lines = record["time"][:10], []
            lines.append(_line(record))
        if lines:
            os.write(self._file_for(day), b"".join(lines))

    def _file_for(self, day: str) -> int:
        if day != self._day or self._fd is None:
            self.close()
            folder = self.directory / f"dt={day}"
            folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(folder / f"{self.instance}.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            self._day = day
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def unwritable(folder: Path) -> str | None:
    """Why this process could not write event files into `folder` (creating it where missing), or None."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    fix = "create it writable by the site's user, or choose another folder"
    if not existing.is_dir():
        return f"{existing} is in the way of the events folder {folder} and is not a folder; {fix}"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"the events folder {folder} is not writable by this process ({existing} is read-only to it); {fix}"
    return None


class LoggingSink:
    """Each event as one JSON line on the `adguard_mw.events` logger, so any log shipper can take them."""

    def __init__(self, target: logging.Logger = logger) -> None:
        self.logger = target

    def active(self) -> bool:
        """Logging below INFO (Python's default) writes nothing: then no record is made for this sink."""
        return self.logger.isEnabledFor(logging.INFO)

    def write(self, records: list[Record]) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            for record in records:
                self.logger.info("%s", _dumps(record))


class CallableSink:
    """Hands each event (a plain dict) to the site's own function, on the background thread."""

    def __init__(self, function: Callable[[Record], object]) -> None:
        self.function = function

    def write(self, records: list[Record]) -> None:
        for record in records:
            self.function(dict(record))


class EventLog:
    """Events go onto a bounded in-memory queue; a background thread turns them into records and writes them.

    `emit` does as little as possible on the request path: no formatting, no locks, no waking of the writer
    (which would take the GIL from the request); the writer wakes on its own at least once a second.
    """

    def __init__(
        self,
        sinks: Iterable[Sink] = (),
        *,
        site: str = "",
        instance: str | None = None,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.sinks = list(sinks)
        self.site = site
        self.instance = instance or default_instance_id()
        self.dropped = 0
        self._capacity = queue_size
        self._pending: deque[tuple[float, str, dict[str, Any]]] = deque()
        self._flush_requests: deque[threading.Event] = deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._second = -1  # the writer's last whole second and its formatted prefix: most events share one
        self._second_text = ""
        self._lost_told = 0  # events lost (here or in a sink) already passed on to `count_dropped`
        self._wanted_at = -1  # the whole second `wanted` last asked the sinks, and their answer
        self._wanted = True

    @classmethod
    def to(
        cls,
        target: Target | Iterable[Target] | None,
        *,
        site: str,
    ) -> EventLog:
        """The usual set-up: Python logging, plus a directory of JSON lines, an `s3://bucket/prefix` dataset, an
        `otlp+http://host:4318` OpenTelemetry endpoint or a function (or a list of them)."""
        instance = default_instance_id()
        sinks: list[Sink] = [LoggingSink()]
        targets = [target] if isinstance(target, str | os.PathLike) or callable(target) else list(target or ())
        sinks.extend(sink_for(each, instance) for each in targets)
        return cls(sinks, site=site, instance=instance)

    def emit(self, event: str, **fields: Any) -> None:
        self.put(event, fields)

    def put(self, event: str, fields: dict[str, Any]) -> None:
        """`emit` with the fields as a dict the caller made for this event (kept as it is, not copied)."""
        if event not in _KNOWN_EVENTS:
            raise ValueError(f"adguard_mw: unknown event {event!r}; known events: {', '.join(EVENT_NAMES)}")
        if not self.sinks:
            return
        if len(self._pending) >= self._capacity:
            self.dropped += 1
            if self.dropped == 1:
                logger.warning("adguard_mw: event queue full; dropping events (counted in EventLog.dropped)")
            return
        self._pending.append((time.time(), event, fields))  # deque.append is atomic: no lock needed
        if self._thread is None:
            self._start_writer()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything emitted so far is written (tests, shutdown)."""
        if self._thread is not None:
            done = threading.Event()
            self._flush_requests.append(done)
            self._wake.set()
            done.wait(timeout)

    def close(self) -> None:
        self.flush()
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                close()

    def _start_writer(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name="adguard_mw-events", daemon=True)
                self._thread.start()
                atexit.register(self.flush, 2.0)

    def _drain(self) -> None:
        while True:
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            requests = [self._flush_requests.popleft() for _ in range(len(self._flush_requests))]
            if not self._taken():
                for _ in range(len(self._pending)):  # what was queued so far; nobody would have written it
                    self._pending.popleft()
            pending, record = self._pending, self._record
            while pending:  # in batches of at most 1,000 records, none kept alive until the next wake
                self._write([record(*pending.popleft()) for _ in range(min(len(pending), 1000))])
            self._call_sinks("flush" if requests else "tick")
            self._tell_lost()
            for done in requests:
                done.set()

    def wanted(self, now: int) -> bool:
        """Whether a record of an event put now would be written: a page view makes its fields only then. The
        sinks are asked at most once a second (`now`, whole seconds), so a change of log level counts within one."""
        if now != self._wanted_at:
            self._wanted_at, self._wanted = now, self._taken()
        return self._wanted

    def _taken(self) -> bool:
        """Whether some sink would write records now: an id and a time stamp (most of a record's cost) are made for
        nobody when the only sink is logging below INFO, the default set-up without `events=`."""
        for sink in self.sinks:
            active = getattr(sink, "active", None)
            if active is None or active():
                return True
        return False

    def _record(self, when: float, event: str, fields: dict[str, Any]) -> Record:
        millis = int(when * 1000)  # one reading of the time for the id and the stamp, which so agree
        second = millis // 1000
        if second != self._second:  # formatting the date and time is most of a stamp's cost: once a second
            self._second, self._second_text = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        stamp = self._second_text + _MILLISECONDS[millis % 1000]
        return {
            "v": SCHEMA_VERSION,
            "id": _uuid7(millis),
            "time": stamp,
            "event": event,
            "site": self.site,
            "instance": self.instance,
            **fields,
        }

    def _write(self, batch: list[Record]) -> None:
        for sink in self.sinks:
            try:
                sink.write(batch)
            except Exception as exc:
                report_fault(f"writing events to {type(sink).__name__}", exc, "those events were dropped")

    def _call_sinks(self, method: str) -> None:
        """`tick` or `flush` on the sinks that buffer (they count and report their own failures)."""
        for sink in self.sinks:
            call = getattr(sink, method, None)
            if call is not None:
                try:
                    call()
                except Exception as exc:
                    report_fault(f"writing events to {type(sink).__name__}", exc, "those events were dropped")

    def lost(self) -> int:
        """Events lost so far: dropped from the full queue, or given up on by a sink (e.g. a store down too long)."""
        counts = (getattr(sink, "dropped", 0) for sink in self.sinks)
        return self.dropped + sum(count for count in counts if isinstance(count, int))

    def _tell_lost(self) -> None:
        lost = self.lost()
        if lost > self._lost_told:
            for sink in self.sinks:
                count_dropped = getattr(sink, "count_dropped", None)
                if count_dropped is not None:
                    try:
                        count_dropped(lost - self._lost_told)
                    except Exception as exc:
                        report_fault(f"counting lost events in {type(sink).__name__}", exc, "they were not counted")
            self._lost_told = lost


Target = str | os.PathLike[str] | Callable[[Record], object]
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def sink_for(target: Target, instance: str) -> Sink:
    """The sink for one `events=` target; a URL scheme we do not serve is an error here, at start-up."""
    if callable(target):
        return CallableSink(target)
    text = os.fspath(target)
    match = _URL.match(text) if isinstance(target, str) else None
    if match is None:
        return JsonLinesSink(target, instance)
    scheme = match.group(1).lower()
    if scheme == "s3":
        from .events_s3 import S3ParquetSink

        return S3ParquetSink(text, instance)
    if scheme in ("otlp+http", "otlp+https"):
        from .events_otel import OtlpLogSink

        return OtlpLogSink(text)
    raise ValueError(
        f"adguard_mw: events={text!r}: {scheme}:// is not a supported destination; "
        "use a directory, s3://bucket/prefix or otlp+http://host:4318"
    )


_uuid_lock = threading.Lock()
_uuid_last = 0  # the last id's Unix milliseconds << 12 | its 12-bit sequence, so ids of one process always increase
_uuid_prefix = (-1, "")  # a millisecond and its first two groups: the events of one millisecond share them
_VARIANT = 0b10 << 62  # in the top bits of the last 64, above the 62 random ones
_RANDOM = (1 << 62) - 1
# A stamp's milliseconds and zone, by the number: a table of 1,000 short strings (~60 KB) instead of "%03d" per event.
_MILLISECONDS = tuple(f".{n:03d}Z" for n in range(1000))


def uuid7(when: float | None = None) -> str:
    """A UUIDv7 (RFC 9562) for an event at `when` (seconds): 48 bits of Unix milliseconds, then a 12-bit
    sequence that keeps ids of one process increasing within a millisecond, then 62 random bits."""
    return _uuid7(int((time.time() if when is None else when) * 1000))


def _uuid7(millis: int) -> str:
    """`uuid7` at `millis`. One draw of the OS's randomness per id (no pool of random bits that a worker forked
    after start would share with its parent), and no integer formatting: `bytes.hex` writes every group."""
    global _uuid_last, _uuid_prefix
    rand = int.from_bytes(os.urandom(10))  # 62 random bits for the id, the top 11 a millisecond's first sequence
    start = (millis & 0xFFFF_FFFF_FFFF) << 12
    _uuid_lock.acquire()  # not `with`, which costs twice as much
    try:
        # A later millisecond starts its sequence at a random 11-bit number (room left to grow); otherwise the
        # sequence grows, carrying into the next millisecond when it is full.
        tick = _uuid_last = start | rand >> 69 if start > _uuid_last else _uuid_last + 1
    finally:
        _uuid_lock.release()
    millis = tick >> 12
    known, prefix = _uuid_prefix
    if known != millis:
        prefix = millis.to_bytes(6).hex("-", -4)
        _uuid_prefix = (millis, prefix)
    version = (0x7000 | tick & 0xFFF).to_bytes(2).hex()
    return f"{prefix}-{version}-{(_VARIANT | rand & _RANDOM).to_bytes(8).hex('-', 6)}"


def default_instance_id() -> str:
    """Host name, process id and a random part: unique per running process, readable in file names."""
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())[:32] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


def _line(record: Record) -> bytes:
    """One record as one JSON line, in ASCII, with its newline: JSON escaping means no newline from any field can
    forge a second record (and no U+2028 or U+0085 either, which some readers split lines on). orjson writes a
    page view's line for a tenth of what `json.dumps` costs (~6k instructions against ~57k); `json` writes what
    orjson will not (an int beyond 64 bits, a key that is not a str) and escapes the rare line with non-ASCII text.
    Bytes, as files take them: no decoding and encoding again on the way."""
    try:
        line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return _json_line(record)
    return line if line.isascii() else _json_line(record)


def _json_line(record: Record) -> bytes:
    return (json.dumps(record, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii")


def _dumps(record: Record) -> str:
    """`_line` as text, without its newline (for the logging sink)."""
    return _line(record)[:-1].decode("ascii")


def reader_fields(
    user_agent: str,
    accept_language: str,
    visitor_id: str | None,
    path: str,
    *,
    mode: str,
    variant: str | None = None,
    brands: str = "",
) -> Record:
    """The coarse, pseudonymous facts every event carries about its reader, and the policy and variant it met.

    `brands` is the Sec-CH-UA client hint, which tells Brave from Chrome."""
    facts = _reader_facts(
        user_agent[:MAX_USER_AGENT], accept_language[:_LANGUAGE_PREFIX], '"Brave"' in brands[:MAX_USER_AGENT]
    )
    return _fields(facts, visitor_id, path, mode, variant)


def raw_reader_fields(
    headers: Mapping[bytes, bytes], visitor_id: str | None, path: str, *, mode: str, variant: str | None
) -> Record:
    """`reader_fields` from a request's headers by lower-case name, as they came: a reader's browser seen before
    costs one cache lookup, with nothing decoded (latin-1, as `reader_fields`' callers decode them)."""
    facts = _raw_reader_facts(
        headers.get(b"user-agent", b"")[:MAX_USER_AGENT],
        headers.get(b"accept-language", b"")[:_LANGUAGE_PREFIX],
        names_brave(headers.get(b"sec-ch-ua", b"")),
    )
    return _fields(facts, visitor_id, path, mode, variant)


_Facts = tuple[str | None, str, str, str, str]


def _fields(facts: _Facts, visitor_id: str | None, path: str, mode: str, variant: str | None) -> Record:
    locale, browser, major, os_family, device = facts
    return {
        "path": path,
        "locale": locale,
        "browser": browser,
        "browser_major": major,
        "os": os_family,
        "device": device,
        "visitor": visitor_id,
        "mode": mode,
        "variant": variant,
    }


@lru_cache(maxsize=1024)  # keys of bounded length, as `_reader_facts`' below
def _raw_reader_facts(user_agent: bytes, accept_language: bytes, brave: bool) -> _Facts:
    return _reader_facts(user_agent.decode("latin-1"), accept_language.decode("latin-1"), brave)


@lru_cache(maxsize=1024)  # keys of bounded length: at most 1024 keys of ~550 characters
def _reader_facts(user_agent: str, accept_language: str, brave: bool) -> _Facts:
    """What an event says of a reader's browser and language, by the headers that decide it: one cache lookup
    per event instead of one per fact."""
    client = describe_browser(user_agent, brave)
    return primary_language(accept_language), client.browser, client.browser_major, client.os, client.device


_DERIVED_CACHES.extend((_reader_facts.cache_clear, _raw_reader_facts.cache_clear))


_LANGUAGE_PREFIX = 32  # characters of Accept-Language that decide its first language


def primary_language(accept_language: str) -> str | None:
    """The reader's first language, e.g. "de" from "de-CH,de;q=0.9,en;q=0.8"; None when absent or odd.

    Called for every event, so cached; on a bounded prefix of the header, so the cache stays small in bytes too.
    """
    return _primary_language(accept_language[:_LANGUAGE_PREFIX])


@lru_cache(maxsize=1024)
def _primary_language(accept_language: str) -> str | None:
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip().split("-", 1)[0].lower()
    return first if 2 <= len(first) <= 3 and first.isascii() and first.isalpha() else None
