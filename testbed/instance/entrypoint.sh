#!/bin/sh
# Entrypoint of the web/celery image, behaving like BookWyrm's since v0.8.4: starting
# gunicorn first prepares the instance (migrate, initdb, compile_themes, collectstatic);
# any other command runs as is (`docker compose run --rm web python manage.py ...`).
set -e

if [ "$1" = "gunicorn" ]; then
    # Upstream has no wait here; we add one so the first `up -d` does not race postgres.
    tries=0
    until python manage.py shell -c "from django.db import connection; connection.ensure_connection()" >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge 60 ]; then echo "database not reachable" >&2; break; fi
        sleep 1
    done
    python manage.py migrate --no-input
    python manage.py initdb
    python manage.py compile_themes
    python manage.py collectstatic --no-input
fi

exec "$@"
