#!/bin/bash
# Start a single-node Ceph (mon a, osd.0 on memstore) and radosgw, then create the S3 user(s).
# Settings (environment, or a file named by USERS_FILE that holds them, so that the keys do not
# show in `docker inspect`): S3_ACCESS_KEY, S3_SECRET_KEY (the user "testbed"), OTHER_ACCESS_KEY,
# OTHER_SECRET_KEY (an optional second user, "other-account"), RGW_ADDR (0.0.0.0), RGW_PORT
# (7480), RGW_DNS_NAME (optional, for virtual-hosted style).
# A restart of the container reuses the mon store and the OSD's saved data.
set -euo pipefail
if [[ -n "${USERS_FILE:-}" && -r "$USERS_FILE" ]]; then
  set -a; source "$USERS_FILE"; set +a
fi

RGW_ADDR="${RGW_ADDR:-0.0.0.0}"
RGW_PORT="${RGW_PORT:-7480}"
MON_ADDR="[v2:127.0.0.1:3300,v1:127.0.0.1:6789]"
CONF=/etc/ceph/ceph.conf
MON_DATA=/var/lib/ceph/mon/ceph-a
OSD_DATA=/var/lib/ceph/osd/ceph-0
LOG=/var/log/ceph

log() { printf '[rgw-start %s] %s\n' "$(date +%T.%N | cut -c1-12)" "$*"; }
wait_for() { # SECONDS WHAT CMD...
  local limit=$1 what=$2 i; shift 2
  for ((i = 0; i < limit * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  log "timed out waiting for $what"; tail -n 30 "$LOG"/*.log >&2 || true; exit 1
}

rm -f /run/rgw-ready
mkdir -p /etc/ceph "$MON_DATA" "$OSD_DATA" /var/lib/ceph/radosgw/ceph-rgw.a "$LOG" /var/run/ceph

if [[ ! -f "$CONF" ]]; then
  FSID="$(cat /proc/sys/kernel/random/uuid)"
  cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon initial members = a
mon host = $MON_ADDR
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
paxos propose interval = 0.1
log file = $LOG/\$name.log

[mon.a]
mon data = $MON_DATA

[osd.0]
osd data = $OSD_DATA
osd objectstore = memstore
memstore device bytes = 1073741824
osd fast shutdown = false

[client.rgw.a]
rgw frontends = beast endpoint=$RGW_ADDR:$RGW_PORT
rgw thread pool size = 64
ms mon client mode = crc
CONF
  if [[ -n "${RGW_DNS_NAME:-}" ]]; then echo "rgw dns name = $RGW_DNS_NAME" >>"$CONF"; fi
fi

pids=()
stop() { # [EXIT CODE]
  log "stopping"
  rm -f /run/rgw-ready
  # rgw, then the OSD (memstore saves its RAM to disk on a clean stop), then the mon
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  exit "${1:-0}"
}
trap stop TERM INT

if [[ ! -f "$MON_DATA/store.db/CURRENT" ]]; then
  log "creating the monitor"
  monmaptool --create --fsid "$(awk '/^fsid/ {print $3}' "$CONF")" --addv a "$MON_ADDR" /tmp/monmap >/dev/null
  ceph-mon --mkfs -i a --monmap /tmp/monmap
fi
ceph-mon -i a -f &
pids+=($!)
wait_for 60 "the monitor" ceph -s --connect-timeout 2

if [[ ! -f "$OSD_DATA/whoami" ]]; then
  log "creating the OSD"
  uuid="$(cat /proc/sys/kernel/random/uuid)"
  ceph osd new "$uuid" >/dev/null
  ceph-osd -i 0 --mkfs --osd-uuid "$uuid" >/dev/null 2>&1
fi
ceph-osd -i 0 -f &
pids+=($!)
osd_up() { ceph osd dump --connect-timeout 2 | grep -q '^osd.0 up'; }
wait_for 60 "the OSD" osd_up

radosgw -n client.rgw.a -f &
pids+=($!)
wait_for 120 "radosgw" curl -sf "http://127.0.0.1:$RGW_PORT/"

make_user() { # UID ACCESS SECRET (kept as it is on a restart)
  radosgw-admin user info --uid="$1" >/dev/null 2>&1 \
    || radosgw-admin user create --uid="$1" --display-name="$1" --access-key="$2" --secret-key="$3" >/dev/null
}
make_user testbed "${S3_ACCESS_KEY:-cephprobeaccess}" "${S3_SECRET_KEY:-cephprobesecret}"
if [[ -n "${OTHER_ACCESS_KEY:-}" && -n "${OTHER_SECRET_KEY:-}" ]]; then
  make_user other-account "$OTHER_ACCESS_KEY" "$OTHER_SECRET_KEY"
fi
touch /run/rgw-ready
log "ready: S3 on $RGW_ADDR:$RGW_PORT"

# Exit (and let docker report it) when any daemon dies.
wait -n "${pids[@]}" || true
log "a daemon exited"
stop 1
