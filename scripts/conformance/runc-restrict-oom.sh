#!/usr/bin/env bash
# runc for CRI-O's runc handler in the conformance run, on hosts without CAP_SYS_RESOURCE (this
# project's test machines): CRI-O gives every pod's infra container oom_score_adj -998, which runc may
# only set with that capability, so every runc pod would fail. Like containerd's restrict_oom_score_adj
# (which the containerd side of the run uses), an adjustment below the caller's own is raised to it;
# nothing else is changed, and every call ends in the next `runc` on PATH (Debian's).
# The run puts a symlink named runc to this script first on CRI-O's PATH.
set -euo pipefail
self="$(readlink -f "${BASH_SOURCE[0]}")"
real=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  if [[ -x "$d/runc" && "$(readlink -f "$d/runc")" != "$self" ]]; then real="$d/runc"; break; fi
done
[[ -n "$real" ]] || { echo "runc-restrict-oom: no runc on PATH" >&2; exit 127; }
args=("$@")
bundle=""
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --bundle | -b) bundle="${args[i + 1]:-}" ;;
    --bundle=*) bundle="${args[i]#--bundle=}" ;;
  esac
done
if [[ -n "$bundle" && -f "$bundle/config.json" ]] && command -v jq >/dev/null; then
  own="$(cat /proc/self/oom_score_adj)"
  adj="$(jq '.process.oomScoreAdj // empty' "$bundle/config.json")"
  if [[ -n "$adj" && "$adj" -lt "$own" ]]; then
    tmp="$(mktemp "$bundle/.config.json.XXXXXX")"
    jq --argjson own "$own" '.process.oomScoreAdj = $own' "$bundle/config.json" >"$tmp"
    mv "$tmp" "$bundle/config.json"
  fi
fi
exec "$real" "$@"
