#!/usr/bin/env bash
# Local stand-ins for the Dockerfile's base images, for machines that reach the package registries
# (Debian, PyPI) but no container registry. Builds need no Dockerfile change: pass what this prints,
#   podman build $(deploy/docker/stand-in-bases.sh) --target cpu .
#   localhost/python:3.11-slim  Debian bookworm (debootstrap) + Debian's python3.11
#   localhost/uv:<version>      /uv from the PyPI wheel of the version the Dockerfile pins
# Idempotent: an image already in podman's store is kept; the root filesystems are cached as
# tarballs under $STAND_IN_CACHE, so a reset store is refilled in seconds. Needs root, podman,
# debootstrap, and python3 with pip.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${STAND_IN_CACHE:-/var/cache/digits-sentiment-serving/stand-in-bases}
PYTHON_VERSION=$(sed -n 's/^ARG PYTHON_VERSION=//p' "$ROOT/Dockerfile")
UV_VERSION=$(sed -n 's|^ARG UV_IMAGE=.*:||p' "$ROOT/Dockerfile")
PYTHON_TAG=localhost/python:${PYTHON_VERSION}-slim
UV_TAG=localhost/uv:${UV_VERSION}
# The CA bundle this machine trusts (pip's `cert`): the network may inspect TLS, and uv in the
# builder must then trust the inspecting proxy's certificate too.
CA_BUNDLE=$(pip config get global.cert 2>/dev/null || echo /etc/ssl/certs/ca-certificates.crt)

log() { echo "stand-in-bases: $*" >&2; }

debian_mirror() {
    # The first Debian (not security) archive this machine's apt uses.
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
        2>/dev/null | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n 1 | tr -d ' '
}

python_rootfs() {
    local tarball=$CACHE/python-${PYTHON_VERSION}.tar rootfs
    [ -s "$tarball" ] && { echo "$tarball"; return; }
    rootfs=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    log "debootstrap bookworm from $(debian_mirror) (a few minutes, once)"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$(debian_mirror)" \
        >&2
    chroot "$rootfs" apt-get install --yes --no-install-recommends \
        "python${PYTHON_VERSION}" "python${PYTHON_VERSION}-venv" >&2
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/*
    ln -sf "/usr/bin/python${PYTHON_VERSION}" "$rootfs/usr/local/bin/python3"
    ln -sf "/usr/bin/python${PYTHON_VERSION}" "$rootfs/usr/local/bin/python"
    cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
    tar --numeric-owner -C "$rootfs" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
    rm -rf "$rootfs"
    echo "$tarball"
}

uv_rootfs() {
    local tarball=$CACHE/uv-${UV_VERSION}.tar work
    [ -s "$tarball" ] && { echo "$tarball"; return; }
    work=$(mktemp -d "$CACHE/uv.XXXXXX")
    log "uv ${UV_VERSION} from PyPI"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" \
        "uv==${UV_VERSION}" >&2
    python3 - "$work" <<'EOF'
import pathlib, stat, sys, zipfile
work = pathlib.Path(sys.argv[1])
wheel = zipfile.ZipFile(next(work.glob("uv-*.whl")))
binary = next(name for name in wheel.namelist() if name.endswith(".data/scripts/uv"))
target = work / "root" / "uv"
target.parent.mkdir()
target.write_bytes(wheel.read(binary))
target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
EOF
    tar --numeric-owner -C "$work/root" -cf "$tarball.part" uv && mv "$tarball.part" "$tarball"
    rm -rf "$work"
    echo "$tarball"
}

main() {
    mkdir -p "$CACHE"
    if ! podman image exists "$PYTHON_TAG"; then
        podman import --quiet \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
            --change 'ENV UV_NATIVE_TLS=1' \
            --change 'CMD ["python3"]' \
            "$(python_rootfs)" "$PYTHON_TAG" >/dev/null
    fi
    if ! podman image exists "$UV_TAG"; then
        podman import --quiet "$(uv_rootfs)" "$UV_TAG" >/dev/null
    fi
    echo "--build-arg PYTHON_IMAGE=$PYTHON_TAG --build-arg UV_IMAGE=$UV_TAG"
}

main "$@"
