#!/bin/sh
# Usage: lab-hostkeys
# Prints each ssh host public key as one console line "LAB-SSH-HOSTKEY <type> <base64>" (the lines
# lab parses from the serial log), then "LAB-SSH-HOSTKEYS-DONE", after which `lab up` takes the
# machine's keys as complete. Makes the default host keys first if the image made none.
set -eu
if ! ls /etc/ssh/ssh_host_*_key.pub >/dev/null 2>&1; then
  ssh-keygen -A
fi
console=/dev/ttyS0
[ -c "$console" ] || console=/dev/console
out=""
for pub in /etc/ssh/ssh_host_*_key.pub; do
  read -r type b64 _rest <"$pub" || continue
  out="${out}LAB-SSH-HOSTKEY ${type} ${b64}
"
done
out="${out}LAB-SSH-HOSTKEYS-DONE
"
# One write, so that no other console output lands inside a line.
printf '%s' "$out" >"$console" || true
printf '%s' "$out"
