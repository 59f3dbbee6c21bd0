#!/usr/bin/env bash
# Start BreachDesk: migrate, make sure an admin exists, then run gunicorn (2 workers) and the
# single scheduler process side by side. Ctrl-C stops both. Safe to run again: nothing is
# created twice.
set -euo pipefail
cd "$(dirname "$0")/.."
export FLASK_APP=wsgi
FLASK=".venv/bin/flask"
BIND="${BIND:-127.0.0.1:5000}"
WORKERS="${WEB_WORKERS:-2}"

mkdir -p instance
"$FLASK" db upgrade
"$FLASK" users ensure-admin
"$FLASK" ocr import --if-empty

if ! .venv/bin/python -c "from weasyprint.text.ffi import harfbuzz_subset as h; raise SystemExit(h is None)" 2>/dev/null; then
  echo "warning: libharfbuzz-subset0 not found; PDF letters render ~2.3x slower (apt-get install libharfbuzz-subset0)" >&2
fi
if ! command -v pdftoppm >/dev/null 2>&1; then
  echo "warning: pdftoppm not found; letter pages cannot show page images (apt-get install poppler-utils)" >&2
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

if [ "${APP_ENV:-development}" = "production" ]; then
  # JSON logs, worker recycling, proxy headers: deploy/gunicorn.conf.py
  BIND="$BIND" WEB_WORKERS="$WORKERS" .venv/bin/gunicorn -c deploy/gunicorn.conf.py wsgi:app &
else
  .venv/bin/gunicorn --workers "$WORKERS" --bind "$BIND" --access-logfile - wsgi:app &
fi
pids+=($!)
"$FLASK" scheduler &
pids+=($!)
echo "BreachDesk is running on http://$BIND (scheduler pid ${pids[1]}). Ctrl-C stops both."
# Stop everything as soon as either process exits.
wait -n "${pids[@]}"
