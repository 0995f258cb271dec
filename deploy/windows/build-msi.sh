#!/usr/bin/env bash
# Builds the collector's MSI with wixl (Debian's wixl package) from a Windows build of the
# collector: deploy/windows/build-msi.sh <exfleet-collector.exe> <version x.y.z> <out.msi>
# START_ON_INSTALL=no leaves the service to start at the next boot (or `sc start`) instead of
# at install: Wine starts an automatic service as soon as it is registered, and its msiexec then
# fails StartServices on "already running" and rolls the install back.
set -euo pipefail
exe=${1:?the collector .exe}
version=${2:?version, x.y.z}
out=${3:?output .msi}
wxs="$(cd "$(dirname "$0")" && pwd)/exfleet-collector.wxs"
out=$(realpath -m "$out")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# wixl takes sources relative to where it runs.
cp "$exe" "$stage/exfleet-collector.exe"
(cd "$stage" && wixl -a x64 -D Version="$version" -D StartOnInstall="${START_ON_INSTALL:-yes}" \
  -o "$out" "$wxs")
echo "$out"
