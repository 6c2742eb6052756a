#!/usr/bin/env bash
# Installs what `make bench` compares against, when absent: rclone (Debian) and a venv with
# awscli, boto3[crt] (s3transfer's CRT transfer manager, awscrt from PyPI), psutil and
# matplotlib under .build/bench-venv. The module runs with that venv's python too, so that
# its engine=crt can be measured. No telemetry in any of them.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.build/bench-venv
if ! command -v rclone >/dev/null 2>&1; then
  echo "[bench] installing rclone (apt)" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y rclone >/dev/null || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y rclone >/dev/null; }
fi
if ! "$VENV/bin/python" -c "import awscli, boto3, awscrt.s3, s3transfer.crt, psutil, matplotlib" >/dev/null 2>&1; then
  echo "[bench] making $VENV (awscli, boto3[crt], psutil, matplotlib)" >&2
  mkdir -p .build
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check awscli 'boto3[crt]' psutil matplotlib
fi
