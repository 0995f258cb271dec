#!/usr/bin/env python3
"""Checks every collector snapshot of a simulated fleet against independent readers.

For each host of <fleet>/ground-truth.json, reads <snapshots>/<HOST>.json (written by
`exfleet-collector collect --out X.json`) and compares, value by value:
  - every registry-derived field with the hive value, read by regipy (PyPI) and by hivexget
    (Debian libhivex-bin), and the sets of services, TLS bindings, updates and certificates
    with the hive's subkeys;
  - certificate thumbprints with SHA-1 of the DER inside the Blob, and NotAfter with the
    certificate as parsed by `cryptography`;
  - ExSetup.exe's fixed and string FileVersion with pefile's reading;
  - ServiceControl.log runs and their stop/disable/restore actions (line, service, UTC time)
    with a reading by Python's re and datetime, and ServiceState.xml's saved services with
    xml.etree.
Prints a summary and exits 1 on any mismatch.
"""
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pefile
from cryptography import x509
from regipy.registry import RegistryHive


class Checker:
    def __init__(self):
        self.compared = 0
        self.mismatches = []

    def eq(self, host, what, ours, theirs):
        self.compared += 1
        if ours != theirs:
            self.mismatches.append(f"{host}: {what}: snapshot {ours!r} != independent {theirs!r}")


def hive_path(key):
    """HKLM\\SYSTEM\\X -> \\X (the key below the hive root)."""
    parts = key.split("\\")
    return "\\" + "\\".join(parts[2:])


class Hive:
    def __init__(self, path):
        self.path = path
        self.regipy = RegistryHive(path)

    def value(self, key, name):
        k = self.regipy.get_key(hive_path(key))
        # regipy trims long values to 256 characters unless told not to.
        for v in k.iter_values(trim_values=False):
            if v.name.lower() == name.lower():
                return v.value.hex() if isinstance(v.value, bytes) else v.value
        return None

    def hivex(self, key, name, binary=False):
        out = subprocess.run(
            ["hivexget", self.path, hive_path(key), name], capture_output=True, check=True
        ).stdout
        if binary:
            return out.hex()
        return out.decode("utf-8").rstrip("\n")

    def subkeys(self, path):
        try:
            return sorted(s.name for s in self.regipy.get_key(path).iter_subkeys())
        except Exception:
            return []


def check_value(c, host, hive, key, name, ours, kind):
    """kind: 'sz', 'dword' or 'binary' (ours as upper-case hex)."""
    theirs = hive.value(key, name)
    hx = hive.hivex(key, name, binary=(kind == "binary"))
    if kind == "binary":
        c.eq(host, f"{key}\\{name} (regipy)", ours.lower(), (theirs or "").lower())
        c.eq(host, f"{key}\\{name} (hivex)", ours.lower(), hx.lower())
    elif kind == "dword":
        c.eq(host, f"{key}\\{name} (regipy)", ours, theirs)
        c.eq(host, f"{key}\\{name} (hivex)", ours, int(hx))
    else:
        c.eq(host, f"{key}\\{name} (regipy)", ours, theirs)
        c.eq(host, f"{key}\\{name} (hivex)", ours, hx)


def reg(prov):
    loc = (prov or {}).get("locator") or {}
    rv = loc.get("RegValue")
    return (rv["key"], rv["value"]) if rv else (None, None)


def guid_hex(text):
    """{4dc3e181-e14b-4a21-b022-59fc669b0914} -> the 16 stored bytes, as hex."""
    p = text.strip("{}").split("-")
    le = lambda s: bytes.fromhex(s)[::-1].hex()
    return le(p[0]) + le(p[1]) + le(p[2]) + p[3] + p[4]


def check_host(c, root, snap):
    host = snap["host"]["computer_name"]
    by_reader = {a["reader"]: a["path"] for a in snap["artifacts"]}
    system = Hive(os.path.join(root, by_reader["system_hive"]))
    software = Hive(os.path.join(root, by_reader["software_hive"]))

    key, name = reg(snap["host"]["provenance"])
    check_value(c, host, system, key, name, snap["host"]["computer_name"], "sz")
    ccs = "HKLM\\SYSTEM\\ControlSet%03d" % snap["platform"]["current_control_set"]
    check_value(c, host, system, ccs + "\\Services\\Tcpip\\Parameters", "Domain", snap["host"]["dns_domain"], "sz")
    check_value(c, host, system, ccs + "\\Services\\Netlogon\\Parameters", "DynamicSiteName", snap["host"]["ad_site"], "sz")
    check_value(c, host, system, ccs + "\\Control\\Nls\\CodePage", "ACP", snap["platform"]["ansi_code_page"], "sz")

    services_key = hive_path(ccs + "\\Services")
    with_start = [s for s in system.subkeys(services_key) if system.value(ccs + "\\Services\\" + s, "Start") is not None]
    c.eq(host, "service keys with Start", sorted(s["name"] for s in snap["services"]), with_start)
    for s in snap["services"]:
        key, _ = reg(s["provenance"])
        check_value(c, host, system, key, "Start", s["start"], "dword")
        check_value(c, host, system, key, "DisplayName", s["display_name"], "sz")

    # IP bindings and SNI (host name) bindings.
    http = ccs + "\\Services\\HTTP\\Parameters\\"
    independent = sorted(
        system.subkeys(hive_path(http + "SslBindingInfo"))
        + system.subkeys(hive_path(http + "SslSniBindingInfo"))
    )
    c.eq(host, "TLS bindings", sorted(b["endpoint"] for b in snap["ssl_bindings"]), independent)
    for b in snap["ssl_bindings"]:
        key, _ = reg(b["provenance"])
        check_value(c, host, system, key, "SslCertHash", b["cert_thumbprint"], "binary")
        check_value(c, host, system, key, "AppId", guid_hex(b["app_id"]), "binary")
        check_value(c, host, system, key, "SslCertStoreName", b["cert_store"], "sz")

    ex = snap["exchange"]
    key, _ = reg(ex["provenance"])
    check_value(c, host, software, key, "MsiInstallPath", ex["install_path"], "sz")
    if ex["owa_version"]:
        check_value(c, host, software, key, "OwaVersion", ex["owa_version"], "sz")
    else:
        c.eq(host, f"{key}\\OwaVersion absent", None, software.value(key, "OwaVersion"))
    parts = [software.value(key, n) for n in ("MsiProductMajor", "MsiProductMinor", "MsiBuildMajor", "MsiBuildMinor")]
    c.eq(host, "Msi version", ex["msi_version"], ".".join(str(p) for p in parts))

    for w in snap["watermarks"]:
        key = "HKLM\\SOFTWARE\\Microsoft\\ExchangeServer\\" + ex["setup_key"] + "\\" + w["component"]
        for field, name in (("watermark", "Watermark"), ("action", "Action"), ("configured_version", "ConfiguredVersion")):
            c.eq(host, f"{key}\\{name}", w[field], software.value(key, name) or "")

    updates = {}
    for u in snap["installed_updates"]:
        updates.setdefault(u["product"], []).append(u["kb"])
        key, _ = reg(u["provenance"])
        check_value(c, host, software, key, "PackageName", u["package_name"], "sz")
        check_value(c, host, software, key, "InstalledDate", u["installed_date"], "sz")
    for product in ("Exchange 2010", "Exchange 2016", "Exchange 2019"):
        c.eq(host, f"updates under {product}", sorted(updates.get(product, [])), software.subkeys("\\Microsoft\\Updates\\" + product))

    p = snap["platform"]
    nt = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
    check_value(c, host, software, nt, "CurrentBuild", p["os_current_build"], "sz")
    check_value(c, host, software, nt, "UBR", p["os_ubr"], "dword")
    check_value(c, host, software, "HKLM\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full", "Release", p["dotnet_release"], "dword")

    store = "\\Microsoft\\SystemCertificates\\MY\\Certificates"
    c.eq(host, "certificates", sorted(x["thumbprint"] for x in snap["certificates"]), software.subkeys(store))
    for cert in snap["certificates"]:
        key, _ = reg(cert["provenance"])
        blob = bytes.fromhex(software.value(key, "Blob"))
        der, at = None, 0
        while at + 12 <= len(blob):
            pid, _, length = int.from_bytes(blob[at:at + 4], "little"), 0, int.from_bytes(blob[at + 8:at + 12], "little")
            if pid == 0x20:
                der = blob[at + 12:at + 12 + length]
            at += 12 + length
        c.eq(host, f"{key} SHA-1", cert["thumbprint"], hashlib.sha1(der).hexdigest().upper())
        parsed = x509.load_der_x509_certificate(der)
        c.eq(host, f"{key} NotAfter", cert["not_after_ms"], int(parsed.not_valid_after_utc.timestamp()) * 1000)

    exe = snap["exsetup"]
    pe = pefile.PE(os.path.join(root, exe["path"]))
    ffi = pe.VS_FIXEDFILEINFO[0]
    fixed = "%d.%d.%d.%d" % (ffi.FileVersionMS >> 16, ffi.FileVersionMS & 0xFFFF, ffi.FileVersionLS >> 16, ffi.FileVersionLS & 0xFFFF)
    c.eq(host, "ExSetup.exe fixed FileVersion (pefile)", exe["fixed_version"], fixed)
    strings = {}
    for info in pe.FileInfo[0]:
        if info.Key == b"StringFileInfo":
            for table in info.StringTable:
                strings.update(table.entries)
    c.eq(host, "ExSetup.exe FileVersion string (pefile)", exe["string_version"], strings[b"FileVersion"].decode())


SC_KINDS = [
    ("stop", re.compile(r"^Stopping service '([^']+)'")),
    ("disable", re.compile(r"^Disabling service '([^']+)'")),
    ("disable_roles", re.compile(r"^Disabling services for ")),
    ("enable_roles", re.compile(r"^Enabling services for ")),
    ("save_state", re.compile(r"^Saving service")),
    ("remove_state", re.compile(r"^Removing service state")),
]


def check_service_control(c, host, root, snap):
    by_reader = {a["reader"]: a["path"] for a in snap["artifacts"]}
    path = os.path.join(root, by_reader["service_control"])
    runs = snap.get("service_control_runs", [])
    if not os.path.isfile(path):
        c.eq(host, "ServiceControl.log runs", len(runs), 0)
        return
    bias = snap["platform"].get("active_time_bias_minutes", 0)
    theirs, day, last = [], None, None
    for number, line in enumerate(open(path, encoding="utf-8").read().splitlines(), 1):
        m = re.match(r"^\* ServiceControl\.ps1: (\d\d)/(\d\d)/(\d{4}) (\d\d:\d\d:\d\d)$", line)
        if m:
            d, mo, y, t = m.groups()
            start = datetime.datetime.strptime(f"{y}-{mo}-{d} {t}", "%Y-%m-%d %H:%M:%S")
            day, last = start.date(), start
            theirs.append({"start_line": number - 1, "started": start, "actions": []})
            continue
        m = re.match(r"^\[(\d\d:\d\d:\d\d)\] (.*)$", line)
        if not m or not theirs:
            continue
        t = datetime.datetime.combine(day, datetime.time.fromisoformat(m.group(1)))
        if t < last - datetime.timedelta(hours=12):
            t += datetime.timedelta(days=1)
        last = t
        for kind, rx in SC_KINDS:
            k = rx.match(m.group(2))
            if k:
                service = k.group(1) if k.groups() else ""
                theirs[-1]["actions"].append((number, kind, service, t))
                break
    utc = lambda t: int((t + datetime.timedelta(minutes=bias)).replace(tzinfo=datetime.timezone.utc).timestamp()) * 1000
    c.eq(host, "ServiceControl.log runs", len(runs), len(theirs))
    for ours, ref in zip(runs, theirs):
        c.eq(host, "ServiceControl run start line", ours["start_line"], ref["start_line"])
        c.eq(host, "ServiceControl run start (UTC)", ours["started_at_ms"], utc(ref["started"]))
        kinds = {k for k, _ in SC_KINDS}
        mine = [(a["line"], a["kind"], a["service"], a["time_ms"]) for a in ours["actions"] if a["kind"] in kinds]
        c.eq(host, f"ServiceControl actions of the run at line {ref['start_line']}", mine,
             [(n, k, s, utc(t)) for n, k, s, t in ref["actions"]])
    for f in snap.get("service_state_files", []):
        root_el = ET.parse(os.path.join(root, f["provenance"]["path"])).getroot()
        ns = "{http://schemas.microsoft.com/powershell/2004/04}"
        saved = []
        for obj in root_el.iter(ns + "Obj"):
            props = {s.get("N"): s.text for s in obj.iter(ns + "S")}
            if "Name" in props:
                saved.append({"name": props["Name"], "start_mode": props.get("StartMode", "")})
        c.eq(host, f"{f['name']} saved services", f["services"], saved)


def main():
    fleet, snapshots = sys.argv[1], sys.argv[2]
    truth = json.load(open(os.path.join(fleet, "ground-truth.json")))
    c = Checker()
    for h in truth["hosts"]:
        snap = json.load(open(os.path.join(snapshots, h["name"] + ".json")))
        check_host(c, os.path.join(fleet, h["triage_dir"]), snap)
        check_service_control(c, h["name"], os.path.join(fleet, h["triage_dir"]), snap)
    for m in c.mismatches[:50]:
        print("MISMATCH", m)
    print(f"independent check: {len(truth['hosts'])} hosts, {c.compared} values compared, {len(c.mismatches)} mismatches")
    sys.exit(1 if c.mismatches else 0)


if __name__ == "__main__":
    main()
