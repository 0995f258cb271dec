#!/usr/bin/env python3
"""Reads an `exfleet-analyzer export` directory with DuckDB, independently of polars, and
prints, per table, the rows DuckDB counts in the Parquet partitions (with the hive `date`
partition column), the CSV file and the JSON lines file, and the Parquet rows per date; for the
tables the analysis computes (findings, cve_exposure), one Parquet file; and the hosts per CVE
of cve_exposure's open rows (`open_hosts_by_cve`).

    python3 tests/scripts/duckdb_check.py EXPORT_DIR
"""
import json
import os
import sys

import duckdb

out = sys.argv[1]
manifest = json.load(open(os.path.join(out, "manifest.json")))
con = duckdb.connect()
result = {}
for table in manifest["tables"]:
    pq = os.path.join(out, "parquet", table)
    csv = os.path.join(out, "csv", f"{table}.csv")
    jsonl = os.path.join(out, "jsonl", f"{table}.jsonl")
    r = {}
    if table in ("findings", "cve_exposure"):
        r["parquet"] = con.execute(f"select count(*) from read_parquet('{pq}/*.parquet')").fetchone()[0]
    elif any(d.startswith("date=") for d in os.listdir(pq)):
        q = f"read_parquet('{pq}/*/*.parquet', hive_partitioning = true)"
        r["parquet"] = con.execute(f"select count(*) from {q}").fetchone()[0]
        r["parquet_by_date"] = {
            str(d): n for d, n in con.execute(f"select date, count(*) from {q} group by date order by date").fetchall()
        }
        # The partition is the date of collected_at_ms.
        r["misplaced"] = con.execute(
            f"select count(*) from {q} where strftime(to_timestamp(collected_at_ms / 1000), '%Y-%m-%d') <> cast(date as varchar)"
        ).fetchone()[0]
    else:
        r["parquet"] = 0
    # An empty table's CSV is a header alone.
    r["csv"] = con.execute(f"select count(*) from read_csv('{csv}', header = true, all_varchar = true)").fetchone()[0] if os.path.getsize(csv) > 0 else 0
    r["jsonl"] = con.execute(f"select count(*) from read_json('{jsonl}', format = 'newline_delimited')").fetchone()[0] if os.path.getsize(jsonl) > 0 else 0
    if table == "cve_exposure":
        r["open_hosts_by_cve"] = {
            cve: n for cve, n in con.execute(
                f"select cve, count(distinct host) from read_parquet('{pq}/*.parquet') where status = 'open' group by cve"
            ).fetchall()
        }
    result[table] = r
print(json.dumps(result, indent=1, sort_keys=True))
