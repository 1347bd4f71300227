#!/bin/sh
# /init of the lab-test guest (busybox sh as PID 1, serial console on ttyS0).
# It reads the config drive, takes a DHCP lease, counts boots on the root disk, prints one
# machine-readable LAB-READY line and then idles until the ACPI power button turns it off.
# It must never exit: a dying PID 1 panics the kernel (panic=-1 then reboots the guest).
export PATH=/bin

# The initramfs carries no /dev/console node, so the kernel could not give us stdio: take the
# console from devtmpfs instead.
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /run /tmp /mnt/config

err() { echo "LAB-ERROR $*"; }
# "lab.debug" on the kernel command line timestamps each step (uptime seconds) on the console.
case " $(cat /proc/cmdline) " in *" lab.debug "*) DEBUG=1 ;; esac
dbg() { [ -z "$DEBUG" ] || { read -r up _ </proc/uptime; echo "lab-debug $up $*"; }; }

# Each /lib/modules/GROUP.list holds "file.ko sysfs_name" lines in dependency order.
load() {
  [ -f "/lib/modules/$1.list" ] || { err "module group $1 not in this image"; return 1; }
  while read -r ko name; do
    [ -d "/sys/module/$name" ] || insmod "/lib/modules/$ko" || { err "insmod $ko failed"; return 1; }
  done <"/lib/modules/$1.list"
}

# The value of a top-level string member of a JSON object (nested objects are skipped).
json_get() {
  awk -v want="$1" '
    function str(  r, c) {
      r = ""; i++
      while (i <= n) {
        c = substr(s, i, 1)
        if (c == "\\") { i++; c = substr(s, i, 1)
          if (c == "n") c = "\n"; else if (c == "t") c = "\t"; else if (c == "u") { c = "?"; i += 4 } }
        else if (c == "\"") { i++; return r }
        r = r c; i++
      }
      return r
    }
    { s = s $0 "\n" }
    END {
      n = length(s); i = 1; d = 0; prev = ""; key = ""
      while (i <= n) {
        c = substr(s, i, 1)
        if (c == "\"") {
          v = str()
          if (d == 1) { if (prev == ":") { if (key == want) { print v; exit } } else key = v }
          prev = "s"; continue
        }
        if (c == "{" || c == "[") d++
        else if (c == "}" || c == "]") d--
        else if (d == 1 && (c == ":" || c == ",")) prev = c
        i++
      }
    }' "$2" 2>/dev/null
}

# The top-level hostname of a #cloud-config document: plain, "double" or 'single' quoted.
cloud_config_hostname() {
  awk '
    NR == 1 && !/^#cloud-config/ { exit }
    { sub(/\r$/, "") }
    /^hostname:[ \t]/ {
      v = $0; sub(/^hostname:[ \t]*/, "", v)
      if (v ~ /^"/) { v = substr(v, 2); sub(/".*$/, "", v) }
      else if (v ~ /^\047/) { v = substr(v, 2); sub(/\047.*$/, "", v) }
      else { sub(/[ \t]+#.*$/, "", v); sub(/[ \t]+$/, "", v) }
      print v; exit
    }' "$1" 2>/dev/null
}

# Finds and mounts the config drive on /mnt/config and sets CFG_TYPE. CFG_DEV names the disk
# labelled config-2 even when it will not mount, so that it is never taken for the root disk.
mount_config() {
  CFG_DEV=$(findfs LABEL=config-2 2>/dev/null || findfs LABEL=CONFIG-2 2>/dev/null)
  if [ -n "$CFG_DEV" ]; then
    # ISO9660 puts "CD001" at byte 32769; anything else labelled config-2 we treat as vfat.
    if [ "$(dd if="$CFG_DEV" bs=1 skip=32769 count=5 2>/dev/null)" = CD001 ]; then t=iso9660; else t=vfat; fi
    load $t && mount -t $t -o ro "$CFG_DEV" /mnt/config && { CFG_TYPE=$t; return 0; }
    err "cannot mount config drive $CFG_DEV as $t"
  fi
  # virtio device id 9 is a 9p transport; its mount tag must be config-2.
  for d in /sys/bus/virtio/devices/*; do
    [ "$(cat "$d/device" 2>/dev/null)" = 0x0009 ] || continue
    if [ ! -f /lib/modules/9p.list ]; then err "9p device present but this image's kernel has no 9p"; continue; fi
    load 9p && mount -t 9p -o trans=virtio,version=9p2000.L,ro config-2 /mnt/config && { CFG_TYPE=9p; return 0; }
    err "cannot mount 9p share config-2"
  done
  # Last resort, paid only by boots without a virtio drive: an ISO on an IDE/SATA cdrom.
  # The ATA bus is scanned asynchronously, so give the cdrom a moment to show up.
  load cdrom || return 1
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    [ -b /dev/sr0 ] && break
    sleep 0.1
  done
  for dev in /dev/sr*; do
    # shellcheck disable=SC2015 # either failing means the same: try the next device
    [ -b "$dev" ] && mount -t iso9660 -o ro "$dev" /mnt/config 2>/dev/null || continue
    if [ -f /mnt/config/openstack/latest/meta_data.json ]; then CFG_TYPE=iso9660; return 0; fi
    umount /mnt/config
  done
  return 1
}

# JSON string (or null when empty) for the ready line.
js() {
  if [ -n "$1" ]; then printf '"%s"' "$(printf %s "$1" | sed 's/[\\"]/\\&/g')"; else printf null; fi
}

dbg init
load base
dbg modules loaded
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done

# --- power button: any event on its input device means power off -----------------------------
# Armed right after the modules load so that an early system_powerdown is not lost.
for n in /sys/class/input/input*; do
  [ "$(cat "$n/name" 2>/dev/null)" = "Power Button" ] || continue
  for e in "$n"/event*; do
    [ -e "$e" ] || continue
    (dd if="/dev/input/${e##*/}" bs=24 count=1 of=/dev/null 2>/dev/null && poweroff -f) &
    PWR=1
  done
done
[ -n "$PWR" ] || err "no power button input device"

# --- config drive and hostname ---------------------------------------------------------------
CFG_TYPE=none NAME='' HOST=''
if mount_config; then
  md=/mnt/config/openstack/latest/meta_data.json ud=/mnt/config/openstack/latest/user_data
  # shellcheck disable=SC2015 # err is meant for a failure of any of the three
  [ -f "$md" ] && NAME=$(json_get name "$md") && HOST=$(json_get hostname "$md") || err "no readable meta_data.json"
  [ -f "$ud" ] && UDHOST=$(cloud_config_hostname "$ud") && [ -n "$UDHOST" ] && HOST=$UDHOST
  HOST=${HOST:-$NAME}
  if [ -n "$HOST" ]; then hostname "$HOST" || err "cannot set hostname $HOST"; fi
else
  err "no config drive (label config-2 or 9p tag config-2)"
fi

dbg "config drive done ($CFG_TYPE)"

# --- network: start DHCP now, collect the lease after the disk work ---------------------------
ip link set lo up
MAC=$(cat /sys/class/net/eth0/address 2>/dev/null) DHCP=
if ip link set eth0 up 2>/dev/null; then
  DHCP=1
  # udhcpc stays running to renew; after 3 unanswered discovers it pauses 2 s and tries again.
  udhcpc -f -i eth0 -s /etc/udhcpc.script -t 3 -T 1 -A 2 ${HOST:+-x hostname:$HOST} >/run/udhcpc.log 2>&1 &
else
  err "no eth0"
fi

# --- root disk boot marker --------------------------------------------------------------------
# The marker lives at sector 2048 (1 MiB), clear of partition tables, so the disk needs no
# filesystem. The root disk is the first virtio disk that is not the config drive.
ROOT='' MARKER=false BOOTS=0
for b in /sys/block/vd*; do
  [ -e "$b" ] || continue
  case "$CFG_DEV" in "/dev/${b##*/}"*) continue ;; esac
  ROOT=/dev/${b##*/}; break
done
if [ -n "$ROOT" ]; then
  old=$(dd if="$ROOT" bs=512 skip=2048 count=1 2>/dev/null | tr -d '\000' | head -n 1)
  case "$old" in
    "LAB-MARKER boots="*) MARKER=true; BOOTS=${old#LAB-MARKER boots=} ;;
  esac
  case "$BOOTS" in '' | *[!0-9]*) BOOTS=0 ;; esac
  BOOTS=$((BOOTS + 1))
  printf 'LAB-MARKER boots=%d\n' "$BOOTS" | dd of="$ROOT" bs=512 seek=2048 conv=sync,fsync 2>/dev/null ||
    err "cannot write marker to $ROOT"
  sync
else
  err "no root disk"
fi

dbg "marker done"

# --- wait for the lease (udhcpc.script writes /run/lease), then announce ----------------------
IP=
if [ -n "$DHCP" ]; then
  i=0
  while [ ! -s /run/lease ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  if [ -s /run/lease ]; then read -r IP </run/lease; else err "no DHCP lease after 30 s"; fi
fi

dbg "lease done ($IP)"
HN=$(hostname)
[ "$HN" = "(none)" ] && HN=
printf 'LAB-READY {"name":%s,"mac":%s,"ip":%s,"hostname":%s,"marker":%s,"boots":%d,"configDrive":"%s"}\n' \
  "$(js "$NAME")" "$(js "$MAC")" "$(js "$IP")" "$(js "$HN")" "$MARKER" "$BOOTS" "$CFG_TYPE"

# A root shell on the serial console, so `lab vm console` can drive the guest (ping, ip, ...).
export PS1='\h# '
while :; do
  setsid -c sh -i </dev/ttyS0 >/dev/ttyS0 2>&1
  sleep 1
done
