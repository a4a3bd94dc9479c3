#!/usr/bin/env bash
# Build container base images from Debian packages, for hosts that cannot
# reach a container registry (this project's CI among them).
#
#   scripts/build-debian-images.sh [python|postgres|nginx|host|all]
#
# Each image is a debootstrap'd Debian root file system turned into an image
# with `docker import`. The host's extra CA certificates (the local ones that
# update-ca-certificates installs, under /usr/local/share/ca-certificates) are
# copied in, so HTTPS from inside a build (pip) trusts the same proxies the
# host does. Images are rebuilt only when missing, or when FORCE=1.
#
# Environment:
#   DEBIAN_SUITE   Debian release to bootstrap (default: bookworm)
#   DEBIAN_MIRROR  package mirror (default: the first URI of the host's apt sources)
#   PYTHON_IMAGE   tag of the Python base image (default: library-base/python:bookworm)
#   POSTGRES_IMAGE tag of the PostgreSQL image (default: library-base/postgres:bookworm)
#   NGINX_IMAGE    tag of the reverse-proxy image (default: library-base/nginx:bookworm)
#   DOCKER_HOST_IMAGE tag of the test Docker host image (default: library-base/docker-host:bookworm)
#   DOCKER         docker client to use (default: Debian's /usr/bin/docker when present)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
suite="${DEBIAN_SUITE:-bookworm}"
python_image="${PYTHON_IMAGE:-library-base/python:${suite}}"
postgres_image="${POSTGRES_IMAGE:-library-base/postgres:${suite}}"
nginx_image="${NGINX_IMAGE:-library-base/nginx:${suite}}"
docker_host_image="${DOCKER_HOST_IMAGE:-library-base/docker-host:${suite}}"
docker_cli="${DOCKER:-$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || command -v docker )}"

default_mirror() {
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | head -n1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}
mirror="${DEBIAN_MIRROR:-$(default_mirror)}"

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "error: debootstrap needs root; run this script as root (or with sudo)" >&2
    exit 1
  fi
  command -v debootstrap >/dev/null || {
    echo "error: debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 1
  }
}

image_exists() { "$docker_cli" image inspect "$1" >/dev/null 2>&1; }

# bootstrap ROOTFS PACKAGES: a minimal Debian with PACKAGES and the host's extra CAs.
bootstrap() {
  local rootfs="$1" packages="$2"
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >&2
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$rootfs/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null
  fi
  # Slim the image: no apt lists, docs or caches.
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
         "$rootfs"/usr/share/locale/* "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/*.log
}

# import ROOTFS TAG CHANGES...: turn a root file system into an image.
import_rootfs() {
  local rootfs="$1" tag="$2"; shift 2
  local changes=()
  for change in "$@"; do changes+=(--change "$change"); done
  tar -C "$rootfs" -c . | "$docker_cli" import "${changes[@]}" - "$tag" >/dev/null
}

build_python() {
  if image_exists "$python_image" && [ "${FORCE:-0}" != 1 ]; then
    echo "$python_image: present"; return
  fi
  need_root
  local work; work=$(mktemp -d); trap 'rm -rf "$work"' RETURN
  bootstrap "$work/rootfs" python3,python3-venv,ca-certificates
  import_rootfs "$work/rootfs" "$python_image" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV LANG=C.UTF-8' \
    'CMD ["python3"]'
  echo "$python_image: built"
}

build_postgres() {
  if image_exists "$postgres_image" && [ "${FORCE:-0}" != 1 ]; then
    echo "$postgres_image: present"; return
  fi
  need_root
  local work; work=$(mktemp -d); trap 'rm -rf "$work"' RETURN
  bootstrap "$work/rootfs" postgresql,ca-certificates,gosu
  # Debian's package creates a cluster under /var/lib/postgresql/<ver>/main; the
  # official image's interface initialises one in $PGDATA at first start instead.
  chroot "$work/rootfs" sh -c 'pg_dropcluster --stop "$(ls /etc/postgresql)" main' || true
  import_rootfs "$work/rootfs" "$postgres_image.rootfs"
  "$docker_cli" build -q -t "$postgres_image" \
    --build-arg BASE="$postgres_image.rootfs" \
    -f "$here/debian-postgres/Dockerfile" "$here/debian-postgres" >/dev/null
  "$docker_cli" image rm "$postgres_image.rootfs" >/dev/null
  echo "$postgres_image: built"
}

# The reverse proxy, with the interface of the official nginx image that the
# Pulumi program relies on (infra/proxy.py): /usr/sbin/nginx, a user and group
# `nginx` with uid/gid 101, the default logs going to stdout/stderr, curl for
# health checks. (`docker import` cannot set STOPSIGNAL: the program sets
# SIGQUIT, nginx's graceful shutdown, on the container.) Debian's nginx
# (1.22 on bookworm) has no `resolve` for upstream servers; the program
# re-resolves through a variable in proxy_pass instead. Services are never
# started while debootstrap installs packages (it fakes start-stop-daemon).
build_nginx() {
  if image_exists "$nginx_image" && [ "${FORCE:-0}" != 1 ]; then
    echo "$nginx_image: present"; return
  fi
  need_root
  local work; work=$(mktemp -d); trap 'rm -rf "$work"' RETURN
  bootstrap "$work/rootfs" nginx,curl,ca-certificates
  chroot "$work/rootfs" sh -euc '
    groupadd --system --gid 101 nginx
    useradd --system --uid 101 --gid nginx --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin nginx
    rm -f /etc/nginx/sites-enabled/default
    ln -sf /dev/stdout /var/log/nginx/access.log
    ln -sf /dev/stderr /var/log/nginx/error.log'
  import_rootfs "$work/rootfs" "$nginx_image" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV LANG=C.UTF-8' \
    'EXPOSE 80' \
    'CMD ["nginx", "-g", "daemon off;"]'
  echo "$nginx_image: built"
}

# The remote tier's Docker host (tests/remote, docs/testing.md "The remote tier"):
# Debian's dockerd and sshd in one image, started by scripts/docker-host/entrypoint.sh
# under tini. The image ships no ssh host key (each node makes its own) and a
# `deploy` user in the `docker` group with no password (key login only: a `*`,
# not the `!` of a locked account).
build_docker_host() {
  if image_exists "$docker_host_image" && [ "${FORCE:-0}" != 1 ]; then
    echo "$docker_host_image: present"; return
  fi
  need_root
  local work; work=$(mktemp -d); trap 'rm -rf "$work"' RETURN
  bootstrap "$work/rootfs" docker.io,openssh-server,iptables,tini,ca-certificates,procps,iproute2,curl
  rm -f "$work"/rootfs/etc/ssh/ssh_host_*
  install -m 0644 "$here/docker-host/sshd_config" "$work/rootfs/etc/ssh/sshd_config.d/docker-host.conf"
  install -m 0755 "$here/docker-host/entrypoint.sh" "$work/rootfs/usr/local/bin/docker-host-entrypoint"
  chroot "$work/rootfs" sh -euc '
    useradd --create-home --shell /bin/bash --groups docker deploy
    usermod --password "*" deploy'
  import_rootfs "$work/rootfs" "$docker_host_image" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV LANG=C.UTF-8' \
    'VOLUME /var/lib/docker' \
    'EXPOSE 22' \
    'ENTRYPOINT ["/usr/bin/tini", "-g", "--", "/usr/local/bin/docker-host-entrypoint"]'
  echo "$docker_host_image: built"
}

case "${1:-all}" in
  python) build_python ;;
  postgres) build_postgres ;;
  nginx) build_nginx ;;
  host) build_docker_host ;;
  all) build_python; build_postgres; build_nginx; build_docker_host ;;
  *) echo "usage: $0 [python|postgres|nginx|host|all]" >&2; exit 2 ;;
esac
