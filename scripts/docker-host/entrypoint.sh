#!/bin/sh
# The entrypoint of the test Docker host image (library-base/docker-host, built by
# scripts/build-debian-images.sh host), run under `tini -g`: a Docker engine and an
# sshd in one container, the nested host of the remote tier (docs/testing.md,
# "The remote tier"). The container must be started with the flags given there
# (--privileged is refused on these machines), /var/lib/docker on a volume.
#
# Environment:
#   DEPLOY_AUTHORIZED_KEYS       public keys allowed to log in as `deploy` (text), or
#   DEPLOY_AUTHORIZED_KEYS_FILE  a mounted file of them (default /run/deploy/authorized_keys)
#   DOCKERD_ARGS                 extra dockerd arguments (word-split)
set -eu

# The runtime mounts /sys and every cgroup v1 hierarchy read-only; dockerd must
# create cgroups for its containers, so everything goes read-write first.
mount -o remount,rw /sys
for hierarchy in /sys/fs/cgroup/*/; do
  # Symlinks (cpu -> cpu,cpuacct) are skipped: their target is remounted itself.
  [ -L "${hierarchy%/}" ] && continue
  mount -o remount,bind,rw "$hierarchy"
done

# A host key of its own for each node (the image ships none): ed25519 only, so a
# known_hosts needs exactly one line per node.
rm -f /etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N '' -C "docker-host@$(hostname)" -f /etc/ssh/ssh_host_ed25519_key

# The `deploy` user's keys: from the environment, else from a mounted file.
keys_file=${DEPLOY_AUTHORIZED_KEYS_FILE:-/run/deploy/authorized_keys}
install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh
if [ -n "${DEPLOY_AUTHORIZED_KEYS:-}" ]; then
  printf '%s\n' "$DEPLOY_AUTHORIZED_KEYS" > /home/deploy/.ssh/authorized_keys
elif [ -f "$keys_file" ]; then
  cat "$keys_file" > /home/deploy/.ssh/authorized_keys
else
  echo "entrypoint: no DEPLOY_AUTHORIZED_KEYS nor $keys_file: nobody can log in" >&2
  : > /home/deploy/.ssh/authorized_keys
fi
chown deploy:deploy /home/deploy/.ssh/authorized_keys
chmod 0600 /home/deploy/.ssh/authorized_keys

# sshd daemonizes (tini, PID 1, reaps it); its log goes to a file (docker exec cat it).
mkdir -p /run/sshd
/usr/sbin/sshd -E /var/log/sshd.log

# dockerd is the container's main process: if it cannot run, the container exits
# and its log (docker logs) says why.
# shellcheck disable=SC2086
exec /usr/sbin/dockerd --host unix:///var/run/docker.sock ${DOCKERD_ARGS:-}
