#!/usr/bin/env bash
# The README's first command: on a fresh Debian machine with Node 20, install
# what is missing, start a local cluster, run the word count on sample text,
# show some batches and the cluster status, and stop everything again (also on
# failure or Ctrl-C).
#
# RIVULET_DEMO_DIR: where the cluster's .rivulet/ (state, logs) goes; default
# the repository root. tests/e2e/demo.test.ts runs the demo in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="${RIVULET_DEMO_DIR:-$ROOT}"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -d node_modules ]; then
  say "installing npm dependencies (npm ci)"
  npm ci
fi
if ! command -v nats-server >/dev/null 2>&1 && [ -z "${RIVULET_NATS_SERVER_BIN:-}" ]; then
  say "installing nats-server (apt-get)"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y nats-server
fi

say "building (npm run build)"
npm run build --silent

rivulet() { (cd "$WORK" && node "$ROOT/bin/rivulet.js" "$@"); }
# A repository file as the rivulet commands (run in $WORK) name it.
repo_file() { realpath --relative-to="$WORK" "$ROOT/$1"; }

# A cluster left over from an earlier interrupted demo would block `up`.
rivulet down >/dev/null 2>&1 || true
cleanup() {
  say "stopping the cluster (rivulet down)"
  rivulet down || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting a local cluster: rivulet up --detach --executors 2"
rivulet up --detach --executors 2 --batch-interval 1s

say "submitting examples/wordcount.ts"
JOB=$(rivulet submit "$(repo_file examples/wordcount.ts)")
echo "job id: $JOB"

say "pushing examples/data/sample.txt to stream 'lines', 8 times over ~4 s (in the background)"
( for _ in 1 2 3 4 5 6 7 8; do rivulet push lines --file "$(repo_file examples/data/sample.txt)" >/dev/null; sleep 0.5; done ) &
PUSHER=$!

say "word counts per batch: rivulet tail $JOB --output counts --non-empty --batches 3"
rivulet tail "$JOB" --output counts --from-beginning --non-empty --batches 3 --max-records 12
wait "$PUSHER"

say "rivulet status"
rivulet status --batches 5

say "done: see README.md for what to try next"
