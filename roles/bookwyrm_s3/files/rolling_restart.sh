#!/usr/bin/env bash
# Recreate BookWyrm's web container with the current .env without a gap: start a second web
# container, wait until it is healthy, retire the old one, then let compose recreate the rest.
# Usage: rolling_restart.sh DIR PROJECT SERVICE TIMEOUT COMPOSE_CMD [FILES,COMMA,SEPARATED]
set -euo pipefail
dir=$1 project=$2 service=$3 timeout=$4 compose_cmd=$5 files=${6:-}
cd "$dir"
compose=($compose_cmd --project-name "$project")
IFS=',' read -r -a extra <<<"$files"
for f in "${extra[@]}"; do [[ -n "$f" ]] && compose+=(--file "$f"); done

health() { docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1" 2>/dev/null || echo gone; }
reload_proxy() {
  # nginx resolves upstream names when it (re)loads its configuration
  if [[ -n "$("${compose[@]}" ps -q nginx 2>/dev/null)" ]]; then "${compose[@]}" exec -T nginx nginx -s reload >/dev/null 2>&1 || true; fi
}

# The other services running BookWyrm's code (same image or build as web: celery_worker, celery_beat,
# flower) need the new settings too; db and redis do not, and recreating them cuts the site off.
app_services() {
  "${compose[@]}" config --format json 2>/dev/null | python3 -c '
import json, sys
services, web = json.load(sys.stdin)["services"], sys.argv[1]
def code(s):
    build = s.get("build") or {}
    return (build.get("context"), build.get("dockerfile")) if build else s.get("image")
print("\n".join(n for n, s in services.items() if n != web and code(s) == code(services[web])))
' "$service"
}

mapfile -t old < <("${compose[@]}" ps -q "$service")
if (( ${#old[@]} == 0 )); then
  "${compose[@]}" up -d
else
  "${compose[@]}" up -d --no-deps --no-recreate --scale "$service=$(( ${#old[@]} + 1 ))" "$service" >/dev/null
  mapfile -t now < <("${compose[@]}" ps -q "$service")
  new=()
  for id in "${now[@]}"; do [[ " ${old[*]} " == *" $id "* ]] || new+=("$id"); done
  (( ${#new[@]} > 0 )) || { echo "no new $service container was started" >&2; exit 2; }
  start=$SECONDS
  until [[ "$(health "${new[0]}")" == healthy ]]; do
    state=$(health "${new[0]}")
    if [[ "$state" == unhealthy || "$state" == exited || "$state" == gone ]] || (( SECONDS - start > timeout )); then
      echo "the new $service container did not become healthy ($state after $(( SECONDS - start ))s); last log lines:" >&2
      docker logs --tail 30 "${new[0]}" >&2 || true
      docker rm -f "${new[@]}" >/dev/null 2>&1 || true
      exit 3
    fi
    sleep 1
  done
  echo "healthy after $(( SECONDS - start ))s"
  reload_proxy
  # SIGTERM: gunicorn stops accepting at once (new connections are refused, so a proxy moves on to
  # the new container) and finishes the requests it has; then the proxy forgets the old address.
  for id in "${old[@]}"; do docker stop --time 30 "$id" >/dev/null; done
  reload_proxy
  for id in "${old[@]}"; do docker rm "$id" >/dev/null; done
  echo "swap done: ${#old[@]} old $service container(s) retired"
  if apps=$(app_services) && [[ -n "$apps" ]]; then
    mapfile -t apps <<<"$apps"
    "${compose[@]}" up -d --no-deps "${apps[@]}"
  else
    "${compose[@]}" up -d  # compose v1 has no `config --format json`
  fi
fi
# web and the services running its code now run with the current .env; web must still be healthy
start=$SECONDS
until [[ "$(health "$("${compose[@]}" ps -q "$service" | head -1)")" == healthy ]]; do
  (( SECONDS - start > timeout )) && { echo "$service is not healthy after the restart" >&2; exit 4; }
  sleep 1
done
echo "healthy after restart"
