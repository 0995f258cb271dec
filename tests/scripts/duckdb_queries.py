#!/usr/bin/env python3
"""The fleet benchmark's main queries, in DuckDB over an `exfleet-analyzer export` directory
(date-partitioned Parquet). Prints, per query, its time in seconds and its result, as JSON;
the benchmark (analyzer/benches/fleet.rs) runs the same queries in polars and compares.

    python3 tests/scripts/duckdb_queries.py EXPORT_DIR END_MS
"""
import json
import sys
import time

import duckdb

out, end = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
t = lambda name: f"read_parquet('{out}/parquet/{name}/*/*.parquet', hive_partitioning = false)"
DAY = 86_400_000
queries = {
    # Each host's latest snapshot up to the end, then servers per build.
    "latest_builds": f"""
        with latest as (
            select host, arg_max(snapshot_id, collected_at_ms) as snapshot_id
            from {t('hosts')} where collected_at_ms <= {end} group by host)
        select h.exsetup_version, count(*) as n
        from {t('hosts')} h join latest l using (snapshot_id)
        group by h.exsetup_version order by h.exsetup_version""",
    # Hosts silent for more than two days.
    "stale_hosts": f"""
        select count(*) from (
            select host, max(collected_at_ms) as last from {t('hosts')}
            where collected_at_ms <= {end} group by host)
        where last < {end} - {2 * DAY}""",
    # Hosts whose first ASP.NET 1309 came within 24 hours after an MsiInstaller install event.
    "errors_after_update": f"""
        with ev as (
            select distinct host, log, record_id, time_ms, provider, event_id
            from {t('events')} where collected_at_ms <= {end}),
        first_err as (
            select host, min(time_ms) as t from ev
            where provider like 'ASP.NET%' and event_id in (1309, 1310) group by host),
        upd as (
            select host, time_ms as u from ev
            where provider = 'MsiInstaller' and event_id in (1022, 1023, 1024, 1033, 1036, 11707, 11708))
        select count(distinct f.host) from first_err f join upd using (host)
        where u <= t and t - u <= {DAY}""",
    # Config files: (path, build) groups with a stock file (a strict majority of >= 3 hosts).
    "stock_files": f"""
        with f as (
            select c.path, h.exsetup_version as build, c.sha256, c.host
            from {t('config_files')} c join {t('hosts')} h using (snapshot_id)
            where c.collected_at_ms <= {end} and c."exists" and c.sha256 <> ''),
        g as (select path, build, sha256, count(distinct host) as n from f group by all),
        s as (select *, sum(n) over (partition by path, build) as total from g)
        select count(*) from s where n >= 3 and n * 2 > total""",
    # Servers per (.NET release, build) on the latest snapshots: the counts association rules start from.
    "attribute_counts": f"""
        with latest as (
            select host, arg_max(snapshot_id, collected_at_ms) as snapshot_id
            from {t('hosts')} where collected_at_ms <= {end} group by host)
        select count(*), max(n) from (
            select h.dotnet_release, h.exsetup_version, count(*) as n
            from {t('hosts')} h join latest l using (snapshot_id) group by all)""",
}
result = {}
for name, sql in queries.items():
    start = time.perf_counter()
    rows = con.execute(sql).fetchall()
    result[name] = {"seconds": time.perf_counter() - start, "rows": [[str(v) for v in r] for r in rows]}
print(json.dumps(result))
