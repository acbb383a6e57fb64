#!/usr/bin/env bash
# Keyroom benchmarks: builds Release, runs every benchmark against a baseline measured in the same run, prints
# tables and a summary of ratios, and writes bench/results/latest.json.
#
#   bench/run.sh            full run (~3-4 minutes after the build)
#   bench/run.sh --quick    smoke run (~1 minute): 1 run per cell, shorter windows
#   bench/run.sh --diag     where the time of one secret read goes (step-by-step timings, no tables)
#
# Exit code: 0 when every benchmark ran (a missed target is reported as MISS, not as a failure); 1 when the
# build failed; 2 when a cell saw failed requests (wrong status or content); 3 when the overall deadline hit.
# Everything runs on loopback; every load loop is bounded in time, and the whole run is under `timeout`.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

artifacts="$PWD/artifacts/bench"   # outside src/*/bin|obj, so a concurrent Debug build of the solution is not disturbed
limit=330
case " $* " in *" --quick "*) limit=140 ;; esac

# 1,000+ idle WebSockets: each side needs a descriptor per socket.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== building bench/Keyroom.Bench (Release) -> artifacts/bench"
if ! dotnet build bench/Keyroom.Bench/Keyroom.Bench.csproj -c Release --artifacts-path "$artifacts" -p:NuGetAudit=false -nologo -v q -clp:ErrorsOnly; then
  echo "bench: build failed"
  exit 1
fi

bin="$artifacts/bin/Keyroom.Bench/release"
server="$artifacts/bin/Keyroom.Server/release/Keyroom.Server.dll"
mkdir -p bench/results
timeout --kill-after=10 "$limit" dotnet "$bin/Keyroom.Bench.dll" --out bench/results/latest.json --server-dll "$server" "$@"
status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "bench: stopped by the ${limit} s time limit"
fi
exit "$status"
