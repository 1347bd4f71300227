#!/bin/sh
# Runs inside the image's root (chroot) after the packages and the files of rootfs/ are in
# place: users, which units run at boot, and what must not be baked into the image.
set -eu

# --- the core user (CoreOS's uid 500), passwordless sudo, no password ---
getent group core >/dev/null || groupadd -g 500 core
getent passwd core >/dev/null ||
  useradd -u 500 -g core -G sudo,adm,systemd-journal -m -s /bin/bash -c "CoreOS Admin" core
passwd -l core >/dev/null
chmod 0440 /etc/sudoers.d/core
install -d -m 0700 -o core -g core /home/core/.ssh

# --- units: enabled here run on every boot; everything else only when cloud-config says ---
# containerd is enabled on Flatcar (the kubelet talks to its CRI socket).
systemctl enable systemd-networkd.service systemd-networkd-wait-online.service \
  systemd-resolved.service ssh.service sshd-keygen.service flatcar-setup-environment.service \
  containerd.service
# Periodic maintenance a short-lived lab VM does not want competing with boot under TCG.
systemctl mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer
# It would prompt for locale, keymap and root password on the console of every first boot.
systemctl mask systemd-firstboot.service
# No screen: no getty on tty1 (the serial console has its own, from console=ttyS0).
rm -f /etc/systemd/system/getty.target.wants/getty@tty1.service

# --- identity: every VM makes its own on first boot ---
# Empty (not absent): systemd writes a fresh machine-id at first boot; fleet names machines by it.
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
ln -s /etc/machine-id /var/lib/dbus/machine-id
rm -f /etc/ssh/ssh_host_*
echo localhost >/etc/hostname
cat >/etc/hosts <<'HOSTS'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
HOSTS

# C.UTF-8 comes with libc; without this file every login logs a pam_env warning.
echo LANG=C.UTF-8 >/etc/default/locale

# --- Flatcar's compatibility names: /usr/share/coreos and /etc/coreos point at the flatcar ones ---
ln -sfn flatcar /usr/share/coreos
mkdir -p /etc/flatcar
ln -sfn flatcar /etc/coreos

# --- root filesystem: /dev/vda, ext4, grown to the disk's size at boot ---
# /usr is made read-only by usr.mount (rootfs/), not here: initramfs-tools mounts a /usr it finds
# in fstab itself, before the root is even switched to.
cat >/etc/fstab <<'FSTAB'
# lab-flatcar: the whole virtio disk is one ext4 filesystem (no partition table). x-systemd.growfs
# grows it when the VM's overlay is made larger than the image.
/dev/vda	/	ext4	defaults,noatime,x-systemd.growfs	0	1
FSTAB
mkdir -p /etc/systemd/system/local-fs.target.wants
ln -sf /usr/lib/systemd/system/usr.mount /etc/systemd/system/local-fs.target.wants/usr.mount

# --- DNS from the DHCP lease through systemd-resolved ---
ln -sf ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf

# --- smaller image ---
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/lib/dpkg/*-old /var/log/*.log \
  /var/log/apt/* /tmp/* /var/tmp/*
find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find /usr/share/doc -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian/*
find /usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +

# Nothing in /usr changes after this: the first boot needs no ldconfig or hwdb rebuild
# (ConditionNeedsUpdate compares these stamps with /usr's mtime).
touch /usr
sleep 1
touch /etc/.updated /var/.updated
