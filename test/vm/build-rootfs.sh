#!/usr/bin/env bash
# Builds (once) the Debian 12 guest the VM test boots: a debootstrap root filesystem with systemd as
# PID 1, Debian's stock cloud kernel (6.1, BTF on), nats-server and the runtime libraries Sigil's addon
# links (libbpf1, libelf1). Cached under $SIGIL_VM_CACHE (default /var/cache/sigil-vm); delete
# that directory to rebuild. Prints the cache directory on success.
set -euo pipefail

CACHE="${SIGIL_VM_CACHE:-/var/cache/sigil-vm}"
MIRROR="${SIGIL_VM_MIRROR:-http://deb.debian.org/debian}"
BASE="$CACHE/rootfs"
STAMP="$CACHE/rootfs.done"
PACKAGES=systemd,systemd-sysv,udev,dbus,kmod,linux-image-cloud-amd64,initramfs-tools,nats-server,libbpf1,libelf1,zlib1g,ca-certificates,iproute2,procps,util-linux

if [ -f "$STAMP" ] && [ -d "$BASE" ]; then echo "$CACHE"; exit 0; fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
rm -rf "$BASE"
mkdir -p "$CACHE"
echo "building the guest root filesystem in $BASE (one time, a few minutes)" >&2
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$BASE" "$MIRROR" >&2

# The initramfs must find the root disk (virtio-blk) on its own; `most` takes every storage driver.
echo 'MODULES=most' > "$BASE/etc/initramfs-tools/conf.d/sigil-vm.conf"
chroot "$BASE" update-initramfs -u -k all >&2

# A console on the serial port, no root password prompt (the guest has no network), a hostname.
echo 'sigil-vm' > "$BASE/etc/hostname"
chroot "$BASE" passwd -d root >&2
printf '/dev/vda / ext4 rw,relatime 0 1\n' > "$BASE/etc/fstab"
# Debian's nats-server package ships its own unit; the test runs ours (deploy/systemd/sigil-nats.service).
chroot "$BASE" systemctl disable nats-server.service >&2 2>/dev/null || true
chroot "$BASE" apt-get clean >&2
touch "$STAMP"
echo "$CACHE"
