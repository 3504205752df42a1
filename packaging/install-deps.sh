#!/usr/bin/env bash
# Installs the Debian 12 packages that CAKE needs to build, test and run.
# Runs apt-get directly as root, else through sudo.
set -euo pipefail

packages=(
	build-essential cmake pkg-config
	libevent-dev libsqlite3-dev libfyaml-dev libjson-c-dev libgit2-dev
	libarchive-dev libpcre2-dev libcriterion-dev
	python3 sqlite3 procps curl prometheus
)

if [[ $(id -u) -eq 0 ]]; then
	apt_get=(apt-get)
elif command -v sudo >/dev/null; then
	apt_get=(sudo apt-get)
else
	echo "install-deps.sh: run as root or install sudo; packages needed: ${packages[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${apt_get[@]}" update -q
"${apt_get[@]}" install -y -q --no-install-recommends "${packages[@]}"
