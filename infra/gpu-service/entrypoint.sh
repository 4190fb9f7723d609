#!/usr/bin/env bash
# GPU service container entrypoint: makes sure a depth prior is in $MODELS_DIR, then becomes the
# service (exec: tini's SIGTERM reaches node, which stops taking jobs and drains in-flight ones).
#
#   MODELS_PULL           missing (default): pull when no model is there yet (a model named by
#                           HYBRIDDEPTH_MODEL is always checked; a cached one is only sha256-checked)
#                         always: pull at every start
#                         never: don't (models mounted, baked in, or pulled by an init container)
#   MODELS_PULL_REQUIRED  0 (default): a failed pull (offline, say) is a warning and the service
#                           runs depth from focus alone; 1: no model, no start
#   HYBRIDDEPTH_MODEL     a registry name: pull that model only (a file path: yours to provide)
#   MALLOC_ARENA_MAX      glibc malloc arenas, 2 unless set (see below)
set -euo pipefail

# glibc gives each thread that allocates its own malloc arena (up to 8 per core), and freed frame
# and plane buffers stay resident in them: with 2 jobs of a 12 MP stack in flight the peak RSS was
# 1575–1902 MiB (median 1632) with glibc's default and 1488–1696 MiB (median 1519) with 2 arenas,
# no slower (bench/memory.bench.ts measures both). glibc reads it at process start, hence here.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"

cd "$(dirname "$(readlink -f "$0")")/../.."

models_dir="${MODELS_DIR:?MODELS_DIR must be set (the image sets /models)}"
mode="${MODELS_PULL:-missing}"
required="${MODELS_PULL_REQUIRED:-0}"
model="${HYBRIDDEPTH_MODEL:-}"
named=""
if [[ -n $model && $model != */* && $model != *.onnx ]]; then named="$model"; fi

log() { printf 'entrypoint: %s\n' "$*" >&2; }

has_model() { compgen -G "${models_dir}/*.onnx" >/dev/null; }

pull_models() {
  local args=(models pull)
  if [[ -n $named ]]; then
    args+=("$named")
    [[ $required == 1 ]] || args+=(--optional)
  else
    # Every registry model; some have no download URL, so failures are warnings here.
    args+=(--optional)
  fi
  log "pulling models into ${models_dir}"
  if ! node bin/hybriddepth.mjs "${args[@]}"; then
    if [[ $required == 1 ]]; then
      log "model pull failed and MODELS_PULL_REQUIRED=1; not starting"
      exit 1
    fi
    log "model pull failed; starting anyway"
  fi
}

case "$mode" in
  never) ;;
  always) pull_models ;;
  missing)
    if [[ -z $named ]] && has_model; then
      log "models found in ${models_dir}; not pulling"
    else
      pull_models
    fi
    ;;
  *)
    log "MODELS_PULL must be missing, always or never (got '${mode}')"
    exit 2
    ;;
esac

# A model given as a file path is the service's to check.
if [[ -z $model || -n $named ]] && ! has_model; then
  if [[ $required == 1 ]]; then
    log "no model in ${models_dir} and MODELS_PULL_REQUIRED=1; not starting"
    exit 1
  fi
  log "no model in ${models_dir}: jobs asking for aligned/full fall back to dff"
fi

exec node bin/gpu-service.mjs "$@"
