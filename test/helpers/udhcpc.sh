#!/bin/sh
# udhcpc event script for test clients: configures the lease and records it for the test.
# shellcheck disable=SC2154 # interface, ip, router, dns, domain, hostname come from udhcpc
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    echo "ip=$ip router=$router dns=$dns domain=$domain hostname=$hostname" > "${LEASE_OUT:-/dev/null}"
    ;;
esac
exit 0
