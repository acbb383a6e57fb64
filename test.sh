#!/usr/bin/env bash
# Runs every Keyroom test on a fresh machine: installs what the tests need (npm packages of the
# compatibility suite and of the OAuth test provider, each pinned by its package-lock), builds, runs all
# test projects against real servers, and ends with one line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

log() { printf '\n== %s\n' "$*"; }

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ -f test/compat/package-lock.json ]; then
  log "npm ci (test/compat: the official @meshagent/meshagent client, pinned)"
  (cd test/compat && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi

if [ -f test/oidc/package-lock.json ]; then
  log "npm ci (test/oidc: the oidc-provider OAuth server the OAuth broker tests run against, pinned)"
  (cd test/oidc && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi

log "dotnet build"
if ! dotnet build Keyroom.slnx -c Debug -nologo -v q; then
  echo "0 passed, 1 failed"
  exit 1
fi

log "dotnet test (all projects)"
out=$(mktemp)
dotnet test --solution Keyroom.slnx --no-build 2>&1 | tee "$out"
status=${PIPESTATUS[0]}

total=$(grep -E '^\s*total:' "$out" | tail -1 | grep -oE '[0-9]+' || echo 0)
failed=$(grep -E '^\s*failed:' "$out" | tail -1 | grep -oE '[0-9]+' || echo 0)
passed=$(grep -E '^\s*succeeded:' "$out" | tail -1 | grep -oE '[0-9]+' || echo 0)
skipped=$(grep -E '^\s*skipped:' "$out" | tail -1 | grep -oE '[0-9]+' || echo 0)
rm -f "$out"
if [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then
  failed=1
fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
