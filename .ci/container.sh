#!/usr/bin/env bash
# CI: build the container image (Containerfile) with podman and check that it answers: /health, its
# health check, the admin API behind the router key, and a /v1/messages request to a fake upstream
# (.ci/container_check.py). Where podman cannot be had (not root, no apt-get), it says so loudly and does
# not fail CI. Podman's storage and the Debian base image are cached under .cache/podman.
set -euo pipefail
cd "$(dirname "$0")/.."
began=$(date +%s)

skip() {
    echo "CONTAINER CHECK SKIPPED: $*" >&2
    exit 0
}

missing=()
for tool in podman runc; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
    [ "$(id -u)" = 0 ] || skip "${missing[*]} not installed and this user is not root (apt-get install podman buildah runc debootstrap)"
    command -v apt-get >/dev/null 2>&1 || skip "${missing[*]} not installed and there is no apt-get here"
    echo "container check: installing podman buildah runc debootstrap" >&2
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap) >/dev/null; then
        skip "apt-get could not install podman"
    fi
fi

cache="$PWD/.cache/podman"
mkdir -p "$cache"
if [ "$(id -u)" = 0 ] && [ -z "${CONTAINERS_STORAGE_CONF:-}" ]; then
    # Root inside a CI container: storage under .cache (kept between runs), runc (crun refuses hybrid
    # cgroups), and ulimits root may not raise there.
    printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/graph"\nrunroot = "%s/run"\n' "$cache" "$cache" >"$cache/storage.conf"
    printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\n' >"$cache/containers.conf"
    export CONTAINERS_STORAGE_CONF="$cache/storage.conf" CONTAINERS_CONF="$cache/containers.conf"
fi

# The base: the Containerfile's default (python:3.12-slim) when a registry answers, else Debian's own
# repository through debootstrap (plain http), built once and kept in the cached storage.
base="${CCM_CONTAINER_BASE:-}"
debian=localhost/debian-base:bookworm
if [ -z "$base" ]; then
    if podman image exists "$debian"; then
        base=$debian
    elif timeout 120 podman pull -q docker.io/library/python:3.12-slim >/dev/null 2>&1; then
        base=docker.io/library/python:3.12-slim
    elif command -v debootstrap >/dev/null 2>&1; then
        rootfs="$cache/rootfs"
        if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
            echo "container check: no registry answers; building a Debian base with debootstrap" >&2
            rm -rf "$rootfs"
            debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 ||
                skip "debootstrap failed (see $cache/debootstrap.log)"
        fi
        tar --numeric-owner -C "$rootfs" -c . | podman import -q - "$debian" >/dev/null
        base=$debian
    else
        skip "no base image: no registry answers and debootstrap is not installed"
    fi
fi

# A machine where podman installs but cannot run a container at all (no user namespaces, no overlay, a
# locked-down CI sandbox) says so and is skipped; from here on every failure is the image's own.
if ! timeout 120 podman run --rm --network host "$base" true >"$cache/probe.log" 2>&1; then
    skip "podman cannot run a container on this machine (see $cache/probe.log)"
fi

cmp -s Containerfile Dockerfile || {
    echo "container check: Containerfile and Dockerfile differ (they must be the same file)" >&2
    exit 1
}
secret=()
for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
    if [ -s "$bundle" ]; then
        secret=(--secret "id=cacert,src=$bundle") # for a TLS-inspecting proxy; never stored in the image
        break
    fi
done
image=localhost/ccm:ci
podman build -q --network host --format docker --build-arg "BASE=$base" "${secret[@]}" -t "$image" -f Containerfile . >/dev/null
built=$(date +%s)
echo "container check: image built on $base in $((built - began)) s" >&2

python3 .ci/container_check.py "$image"
echo "container check: passed in $(($(date +%s) - began)) s (build $((built - began)) s)" >&2
