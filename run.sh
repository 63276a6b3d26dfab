#!/usr/bin/env bash
# Set up everything in .venv/ (idempotent, fast when already done), then:
#   ./run.sh            open the chat (builds the index from seeds/ on first use)
#   ./run.sh test       run lint, the test suite and the evaluation gate
#   ./run.sh ARGS...    run `assistant ARGS...`
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=.venv
mode=${1:-chat}
want_test=0; [ "$mode" = test ] && want_test=1

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(cat pyproject.toml run.sh | sha256sum | cut -c1-16)-$want_test"
if [ ! -f "$stamp" ]; then
  echo "setting up $VENV (first run takes a few minutes)…" >&2
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # A CPU torch first: an unpinned torch would pull a multi-GB CUDA build.
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  if [ $want_test = 1 ]; then
    "$VENV/bin/python" -m pip install -q -e ".[test]"
  else
    "$VENV/bin/python" -m pip install -q -e .
  fi
  touch "$stamp"
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if [ $want_test = 1 ]; then
  shift || true
  if [ ! -x /usr/bin/chromium ] && [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ]; then
    echo "installing Debian chromium for the browser tests…" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  fi
  "$VENV/bin/ruff" check .
  "$VENV/bin/python" -m pytest "$@"
  exit $?
fi
if [ "$mode" = chat ]; then
  if "$VENV/bin/python" -c "import assistant.chat.app" 2>/dev/null; then
    exec "$VENV/bin/assistant" chat
  fi
  exec "$VENV/bin/assistant" ask "Which states recognize Abkhazia?"
fi
exec "$VENV/bin/assistant" "$@"
