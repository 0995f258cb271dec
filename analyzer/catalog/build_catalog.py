#!/usr/bin/env python3
"""Builds analyzer/catalog/exchange-builds.toml from the reference material:
ExchangeBuildNumbers.csv (builds, dates, KBs), exchange-builds.md (SU lists of older CUs
that the CSV lacks, end-of-support dates) and cve-builds.csv (which update fixes which CVE
for which CU). Run from the repository root:

    python3 analyzer/catalog/build_catalog.py > analyzer/catalog/exchange-builds.toml

or with other inputs: build_catalog.py [--builds CSV] [--notes EXCHANGE_BUILDS_MD]
[--cves CVE_CSV --cves-as-of YYYY-MM-DD].

CSV defaults to analyzer/catalog/ExchangeBuildNumbers.csv beside this script: a copy of
ExchangeBuildNumbers.csv of the public repository microsoft/Get-ExchangeBuildNumber, commit
a2c819b81a8f35b910ac65218e9afb4a13a949e4, MIT licence, Copyright (c) 2016 Microsoft (the
licence text is in tests/fixtures/README.md). EXCHANGE_BUILDS_MD, the project's notes on
older SUs and end-of-support dates, defaults to exchange-builds.md beside this script.
CVE_CSV defaults to cve-builds.csv beside this script: the CVE-to-fixing-build table
extracted from microsoft/CSS-Exchange (MIT, Copyright (c) Microsoft Corporation) at commit
f88378b1e7a252e413cb2e579e88411393737c11, dated 2026-04-02 (its --cves-as-of);
analyzer/catalog/SOURCES.md explains its columns and row groups. Each of its rows becomes a
`cve` entry with the class that says how exfleet judges it (analyzer/CVE.md).
Only regenerating the catalog needs them; building and testing read the generated
exchange-builds.toml.

The output is data: the analyzer loads it at run time, `--catalog FILE` replaces it, and
`exfleet-analyzer catalog --check FILE` validates one.
"""
import argparse
import csv
import datetime
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = argparse.ArgumentParser(description="Writes the build catalog (TOML) to stdout.")
ARGS.add_argument("--builds", default=os.path.join(HERE, "ExchangeBuildNumbers.csv"))
ARGS.add_argument("--notes", default=os.path.join(HERE, "exchange-builds.md"))
ARGS.add_argument("--cves", default=os.path.join(HERE, "cve-builds.csv"))
ARGS.add_argument("--cves-as-of", default="2026-04-02", help="date of the CVE table's source")
ARGS = ARGS.parse_args()
CSV, MD = ARGS.builds, ARGS.notes
PRODUCTS = [
    # name, version prefix, first build, end of support (extended / SE lifecycle)
    ("Exchange 2010", "14", 0, "2020-10-13"),
    ("Exchange 2013", "15.0", 0, "2023-04-11"),
    ("Exchange 2016", "15.1", 0, "2025-10-14"),
    ("Exchange 2019", "15.2", 0, "2025-10-14"),
    ("Exchange SE", "15.2", 2562, "2035-12-31"),
]
# In-place successors: SE installs over Exchange 2019 CU14 or CU15 as a CU upgrade
# (Microsoft: Exchange SE RTM upgrades Exchange 2019 CU14 or CU15 in place, like a CU).
SUCCEEDS = {"Exchange SE": ("Exchange 2019", ["CU14", "CU15"])}
PREFIX = {"Exchange 2013": "15.0", "Exchange 2016": "15.1", "Exchange 2019": "15.2", "Exchange SE": "15.2"}


def norm(build):
    return ".".join(str(int(p)) for p in build.split("."))


def date(mdy):
    m, d, y = (int(x) for x in re.split(r"[/.-]", mdy))
    return datetime.date(y, m, d).isoformat()


releases = {}  # build -> dict
su_dates = {}  # SU name -> earliest date seen in the CSV

for row in csv.DictReader(open(CSV, encoding="utf-8-sig")):
    name = row["Product Name"].strip()
    # Exchange 2010: service packs play the part of CUs and update rollups that of updates.
    m = re.match(r"^Exchange 2010 (RTM|SP\d) ?(RTM|RU\d+v?\d*)?$", name) or re.match(r"^Exchange 2010 ()(RU\d+)$", name)
    if m:
        sp = m.group(1) or "RTM"
        rollup = m.group(2) if m.group(2) and m.group(2) != "RTM" else ""
        build = norm(row["Build Number"])
        releases[build] = {
            "product": "Exchange 2010", "cu": sp, "name": rollup, "kind": "ru" if rollup else "cu",
            "build": build, "date": date(row["Date"]), "kb": row["KB"].strip(),
        }
        continue
    m = re.match(r"^(Exchange (?:2013|2016|2019|SE)) (RTM|CU\d+|SP1|Preview)(?: \([^)]*\))?(?: (\w+))?$", name)
    if not m:
        continue
    product, cu, update = m.group(1), m.group(2), m.group(3) or ""
    if cu in ("SP1", "Preview") or (cu == "RTM" and product != "Exchange SE" and product != "Exchange 2019"):
        continue
    build = norm(row["Build Number"])
    kind = "cu" if not update else ("hu" if "HU" in update else "su")
    releases[build] = {
        "product": product, "cu": cu, "name": update, "kind": kind, "build": build,
        "date": date(row["Date"]), "kb": row["KB"].strip(),
    }
    if update:
        d = date(row["Date"])
        su_dates[update] = min(su_dates.get(update, d), d)

if not os.path.exists(MD):
    sys.exit(f"build_catalog.py: {MD} not found; pass the path of exchange-builds.md as the second argument")
md = open(MD, encoding="utf-8").read()


def add_md(product, cu, base, cu_date, updates):
    prefix = PREFIX[product]
    b = f"{prefix}.{base}" if base.count(".") == 1 else base
    b = norm(b)
    releases.setdefault(b, {"product": product, "cu": cu, "name": "", "kind": "cu", "build": b,
                            "date": date(cu_date), "kb": ""})
    major = b.split(".")[2]
    for u in updates:
        u = u.strip()
        if not u:
            continue
        name, ver = u.split()
        rev = ver.split(".")[-1]
        ub = norm(f"{prefix}.{major}.{rev}")
        if ub == b:
            continue  # Feb19SU equals the CU base build on some lines
        if ub not in releases:
            mon = datetime.datetime.strptime(name[:5], "%b%y").date()
            releases[ub] = {"product": product, "cu": cu, "name": name,
                            "kind": "hu" if "HU" in name else "su", "build": ub,
                            "date": su_dates.get(name, mon.isoformat()), "kb": "",
                            # Not in the CSV: the date is that of the same-named SU of
                            # another CU, or the first of the month the name gives.
                            "approximate": True}


for product, block in (("Exchange 2019", "**Exchange 2019**"), ("Exchange 2016", "**Exchange 2016**")):
    section = md.split(block, 1)[1].split("\n\n**", 1)[0] if block in md else ""
    for line in section.splitlines():
        m = re.match(r"^\| (CU\d+) \| ([\d.]+) \| ([\d/]+) \| (.*) \|$", line)
        if m:
            add_md(product, m.group(1), m.group(2), m.group(3), m.group(4).split(","))
m = re.search(r"\*\*Exchange SE\*\* RTM ([\d.]+) \(([\d/]+)\) — ([^\n]*)\.", md)
add_md("Exchange SE", "RTM", m.group(1), m.group(2), m.group(3).split(","))
m = re.search(r"2016 CU6–CU1 \(no SUs\): ([^\n]*)\.", md)
for i, item in enumerate(m.group(1).split(", ")):
    b, d = re.match(r"([\d.]+) \(([\d/]+)\)", item).groups()
    add_md("Exchange 2016", f"CU{6 - i}", b, d, [])
line2013 = md.split("**Exchange 2013**:", 1)[1].split("\n", 1)[0]
main, nosu = line2013.split("No SUs:")
for part in re.finditer(r"(CU\d+) ([\d.]+) \(([\d/]+)\) — ([^.]*(?:\.\d+[^.]*)*?)(?=\. CU\d+ |\. $|$)", main.strip()):
    add_md("Exchange 2013", part.group(1), part.group(2), part.group(3), part.group(4).split(","))
for item in re.finditer(r"(CU\d+) ([\d.]+) \(([\d/]+)\)", nosu):
    add_md("Exchange 2013", item.group(1), item.group(2), item.group(3), [])


CVE_PRODUCT = {"Exchange2013": "Exchange 2013", "Exchange2016": "Exchange 2016",
               "Exchange2019": "Exchange 2019", "ExchangeSE": "Exchange SE", "any": "any"}
# What the fix needs besides the build, where that is a setting on the server's disk, by id.
SETTING = {
    "CVE-2020-1147": "System.Data.dll and System.Configuration.dll of .NET 4 at build 3630 or "
                     "later (4190 with .NET 4.8), written on or after 2020-06-05",
    "CVE-2023-36434": "TokenCacheModule not loaded (applicationHost.config globalModules), or "
                      "cachtokn.dll updated by the October 2023 Windows SU",
    "CVE-2023-21709": "TokenCacheModule not loaded (applicationHost.config globalModules), or "
                      "cachtokn.dll updated by the October 2023 Windows SU",
    "ADV24199947": "<FIP-FS DatabasePath>\\Configuration.xml without the \"|NO\" Outside In override",
}
EP = "Extended Protection set as expected on every virtual directory (applicationHost.config), " \
     "SuppressExtendedProtection not set"
SIGNING_2013 = "HKLM\\SOFTWARE\\Microsoft\\ExchangeServer\\v15\\Diagnostics " \
               "EnableSerializationDataSigning = 1"


def cve_class(r):
    """How exfleet judges a row (analyzer/CVE.md): `su` the build decides; `su-ad` the build
    decides, and an Active Directory setting can reopen it; `setting` the build, then a setting
    on the server's disk; `os` the Windows build; `advisory` the March 2021 SU on an unsupported
    CU; `ad` Active Directory alone (out of reach of a server's disk)."""
    notes, cve, by = r["notes"], r["cve"], r["fixed_by_su"]
    if notes.startswith("Yellow advisory"):
        return "advisory", ""
    if cve == "CVE-2020-0796":
        return "os", ""
    if "Extended Protection" in by:
        return "setting", EP
    if cve in SETTING:
        return "setting", SETTING[cve]
    if "registry" in by and "Serializ" in notes:
        return "setting", SIGNING_2013
    if cve in ("CVE-2021-1730", "CVE-2022-21978") or "/PrepareSchema" in by:
        return "ad", ""
    if not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", r["fixed_build"]):
        sys.exit(f"cve-builds.csv: no class for {r}")
    if notes.startswith("override-aware") or "SettingOverride" in notes or "AD schema" in notes:
        return "su-ad", ""
    return "su", ""


def toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def print_cves(path, cves_as_of):
    print(f'cve-as-of = "{cves_as_of}"')
    print("# product, CU, the update that fixes it, the build of that CU carrying it (or the")
    print("# threshold a special row tests), and how exfleet judges it (analyzer/CVE.md).")
    print("cve = [")
    for r in csv.DictReader(open(path, encoding="utf-8-sig")):
        cls, needs = cve_class(r)
        fields = [("id", r["cve"]), ("product", CVE_PRODUCT[r["product"]]), ("cu", r["cu"]),
                  ("fixed-by", r["fixed_by_su"]), ("fixed-build", r["fixed_build"]), ("class", cls)]
        if cls == "advisory":
            fields.append(("on-build", re.search(r"exact CU base build ([\d.]+)", r["notes"]).group(1)))
        if cls == "os":
            m = re.match(r"OS 10\.0\.([\d/]+) with UBR >= (\d+)", r["fixed_build"])
            fields.append(("os-builds", m.group(1).replace("/", ",")))
            fields.append(("min-ubr", m.group(2)))
        # TokenCacheModule rows: one per Windows build; on Windows 10.0 builds the fixed
        # cachtokn.dll's revision is the update revision (UBR) of the cumulative update that
        # carries it, so a UBR at or above it shows the DLL updated.
        m = re.match(r"OS build (\d+) ", r["cu"])
        if m:
            fields.append(("os-builds", m.group(1)))
            v = re.search(r"ProductVersion >= 10\.0\.(\d+)\.(\d+)", r["fixed_build"])
            if v and v.group(1) == m.group(1):
                fields.append(("min-ubr", v.group(2)))
        # CVE-2023-21709 is the Exchange-side id of CVE-2023-36434: HealthChecker reports one.
        if "HealthChecker reports it as CVE-2023-36434" in r["notes"]:
            fields.append(("alias-of", "CVE-2023-36434"))
        # .NET 4.8.1 (release 533320, 2022) ships System.Data.dll and System.Configuration.dll
        # at file build 9000 and later, above the 4190 threshold: it closes CVE-2020-1147.
        if r["cve"] == "CVE-2020-1147":
            fields.append(("closed-from-dotnet-release", "533320"))
        m = re.search(r"\(10\.0\.(\d+)\+\)[^;]*not affected", r["notes"])
        if m:
            fields.append(("os-unaffected-from", m.group(1)))
        if needs:
            fields.append(("needs", needs))
        print("  { " + ", ".join(f"{k} = {v if k in ('min-ubr', 'os-unaffected-from', 'closed-from-dotnet-release') else toml_str(v)}" for k, v in fields) + " },")
    print("]")
    print()


def key(r):
    return tuple(int(x) for x in r["build"].split("."))


rows = sorted(releases.values(), key=key)
as_of = max(r["date"] for r in rows)
print("# The Exchange build catalog: every CU, SU and HU of Exchange 2013, 2016, 2019 and SE,")
print("# and every service pack and update rollup of Exchange 2010.")
print("# Generated by analyzer/catalog/build_catalog.py from analyzer/catalog/ExchangeBuildNumbers.csv")
print("# (microsoft/Get-ExchangeBuildNumber a2c819b, MIT), exchange-builds.md and cve-builds.csv")
print("# (microsoft/CSS-Exchange f88378b, MIT). Replace it with --catalog FILE; check a file with")
print("# `exfleet-analyzer catalog --check FILE`.")
print(f'as-of = "{as_of}"')
print_cves(ARGS.cves, ARGS.cves_as_of)
for name, prefix, first, eos in PRODUCTS:
    print("[[product]]")
    print(f'name = "{name}"\nversion-prefix = "{prefix}"\nfirst-build = {first}\nend-of-support = "{eos}"')
    if name in SUCCEEDS:
        old, cus = SUCCEEDS[name]
        print(f'succeeds = "{old}"\nupgrade-from = [{", ".join(chr(34) + c + chr(34) for c in cus)}]')
    print()
for r in rows:
    print("[[release]]")
    for k in ("product", "cu", "name", "kind", "build", "date", "kb"):
        print(f'{k} = "{r[k]}"')
    if r.get("approximate"):
        print("date-approximate = true")
    print()
