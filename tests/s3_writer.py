"""A middleware process writing events to S3, driven by tests/test_events_s3.py.

    python -m tests.s3_writer URL REQUESTS [MAX_ROWS]

Serves REQUESTS article pages through the middleware (each logs a `page_view`), then closes the event log and
prints `done <instance> <events>`. With MAX_ROWS, it builds its own S3 sink with that batch size and prints
`emitted <n>` as it goes; REQUESTS 0 means until killed.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from adguard_mw import AdGuardMiddleware
from adguard_mw.events import CallableSink, EventLog
from adguard_mw.events_s3 import S3ParquetSink

from .site import KEY, bare_site, client


async def main(url: str, requests: int, max_rows: int) -> None:
    count = 0

    def counted(record: dict[str, Any]) -> None:
        nonlocal count
        count += 1

    if max_rows:
        log = EventLog([], site="lantern", instance="writer-b")
        log.sinks.extend([S3ParquetSink(url, log.instance, max_rows=max_rows), CallableSink(counted)])
        app = AdGuardMiddleware(bare_site(), secret_key=KEY, events=log)
    else:
        app = AdGuardMiddleware(bare_site(), secret_key=KEY, events=url)
        app.events.sinks.append(CallableSink(counted))
    print("started", app.events.instance, flush=True)
    served = 0
    async with client(app) as c:
        while requests == 0 or served < requests:
            response = await c.get(f"/news/{served}")
            assert response.status_code == 200
            served += 1
            if served % 200 == 0:
                await asyncio.sleep(0.05)  # let the writer thread run, as a server between requests would
    app.events.close()
    print("done", app.events.instance, count, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0))
