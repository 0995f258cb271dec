#!/usr/bin/env bash
# Installs the external programs the tests and tests/scripts/*.sh use, only those missing:
#   hivexget (libhivex-bin), evtxexport (libevtx-utils), chromium, python3 with
#   pip, and the Python packages regipy, pefile, cryptography and duckdb; for the collector's
#   Windows build run under Wine (collector/tests/windows.rs): Wine's 64-bit loader (wine64),
#   MinGW-w64 (gcc-mingw-w64-x86-64) and the Rust target x86_64-pc-windows-gnu (rustup); for
#   its MSI (aggregator/tests/msi.rs): wixl, and msitools' msiinfo to inspect it; for the
#   aggregators on an object store (analyzer/tests/object_store.rs): the S3 server s3s-fs
#   (crates.io, cargo install: about 2 minutes on 2 cores, once per machine).
# Without them the tests that need them are skipped (exfleet_tests::tools); .ci/run runs this
# script and then sets EXFLEET_REQUIRE_TOOLS=1 so that a missing one fails instead.
# Debian or Ubuntu (apt-get), as root or with sudo.
set -euo pipefail

sudo=
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-test-tools: run as root (or install sudo)" >&2; exit 1; }
  sudo=sudo
fi

# program  Debian package
apt_tools=(
  "hivexget libhivex-bin"
  "evtxexport libevtx-utils"
  "chromium chromium"
  "python3 python3"
  "x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64"
  "wixl wixl"
  "msiinfo msitools"
)
# Wine's 64-bit loader: Debian's wine64 package puts it in /usr/lib/wine, off PATH (the tests
# find it with dpkg -L, as this does; grep reads all of dpkg's output, since a grep -q that
# stops early would fail the pipe under pipefail).
have_wine() {
  command -v wine64 >/dev/null 2>&1 || command -v wine >/dev/null 2>&1 ||
    dpkg -L wine64 2>/dev/null | grep '/wine64$' >/dev/null
}
missing=()
for entry in "${apt_tools[@]}"; do
  read -r program package <<<"$entry"
  command -v "$program" >/dev/null 2>&1 || missing+=("$package")
done
have_wine || missing+=(wine64)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-tools: apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python packages, by import name and PyPI name.
modules=(
  "regipy regipy"
  "pefile pefile"
  "cryptography cryptography"
  "duckdb duckdb"
)
pip_missing=()
for entry in "${modules[@]}"; do
  read -r module package <<<"$entry"
  python3 -c "import $module" >/dev/null 2>&1 || pip_missing+=("$package")
done
if [ ${#pip_missing[@]} -gt 0 ]; then
  echo "install-test-tools: pip install ${pip_missing[*]}"
  pip=(python3 -m pip install -q --disable-pip-version-check)
  # Debian's own python3 refuses pip installs outside a virtual environment (PEP 668,
  # "externally-managed-environment") unless told; other Pythons (pyenv, a venv) take them as
  # they are.
  log=$(mktemp)
  if ! "${pip[@]}" "${pip_missing[@]}" 2>"$log"; then
    if grep -q externally-managed "$log"; then
      "${pip[@]}" --break-system-packages "${pip_missing[@]}"
    else
      cat "$log" >&2
      rm -f "$log"
      exit 1
    fi
  fi
  rm -f "$log"
fi

# The Rust target of the collector's .exe. A machine that cannot fetch it still runs everything
# else: the Windows tests then skip, and .ci/run says so (and lets them skip under
# EXFLEET_REQUIRE_TOOLS=1).
windows_target=x86_64-pc-windows-gnu
windows_std() {
  local libdir
  libdir=$(rustc --print target-libdir --target "$windows_target" 2>/dev/null) &&
    compgen -G "$libdir/libstd-*" >/dev/null
}
if ! windows_std; then
  echo "install-test-tools: rustup target add $windows_target"
  rustup target add "$windows_target" ||
    echo "install-test-tools: rustup target add $windows_target failed: the Windows tests will skip" >&2
fi

# The S3-compatible server the object-store test starts on loopback. 0.14.1: the last release
# that builds with this toolchain (0.17 needs rustc 1.96); the binary lands in ~/.cargo/bin.
s3s_fs_version=0.14.1
if ! command -v s3s-fs >/dev/null 2>&1; then
  echo "install-test-tools: cargo install s3s-fs@$s3s_fs_version"
  s3s_start=$(date +%s)
  cargo install -q --locked "s3s-fs@$s3s_fs_version" --features binary
  echo "install-test-tools: s3s-fs built in $(( $(date +%s) - s3s_start ))s"
fi

# Everything is there now, or this fails here rather than in a test.
for entry in "${apt_tools[@]}"; do
  read -r program _ <<<"$entry"
  command -v "$program" >/dev/null 2>&1 || { echo "install-test-tools: $program still missing" >&2; exit 1; }
done
for entry in "${modules[@]}"; do
  read -r module _ <<<"$entry"
  python3 -c "import $module" >/dev/null 2>&1 || { echo "install-test-tools: Python module $module still missing" >&2; exit 1; }
done
have_wine || { echo "install-test-tools: wine64 still missing" >&2; exit 1; }
command -v s3s-fs >/dev/null 2>&1 || { echo "install-test-tools: s3s-fs still missing (is ~/.cargo/bin on PATH?)" >&2; exit 1; }
echo "install-test-tools: hivexget, evtxexport, chromium, python3 (regipy, pefile, cryptography, duckdb), wine64, x86_64-w64-mingw32-gcc, wixl, msiinfo and s3s-fs are installed"
