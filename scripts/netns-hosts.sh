#!/usr/bin/env bash
# Makes (or removes) three pretend hosts on one machine: network namespaces joined by veth
# pairs to a bridge, so a mesh can span "machines" and one host's link can be cut.
#
#   scripts/netns-hosts.sh up   [PREFIX]   # PREFIX defaults to zm
#   scripts/netns-hosts.sh down [PREFIX]
#   scripts/netns-hosts.sh cut     HOST [PREFIX]   # HOST 1, 2 or 3: its link goes down
#   scripts/netns-hosts.sh restore HOST [PREFIX]   # and up again
#
# `up` makes (after a `down`, so a crashed earlier run is cleaned):
#   namespaces PREFIX-h1, PREFIX-h2, PREFIX-h3, loopback up in each;
#   in each, the interface eth0 with 10.77.0.1/24, .2, .3;
#   its peer PREFIX-hN on the bridge PREFIX-br, which itself has 10.77.0.254/24, so the
#   machine's own namespace reaches every host (as a fourth host on the segment would).
# `down` removes all of it and is idempotent. Needs root (CAP_NET_ADMIN) and iproute2.
#
# Run a command on a host with `ip netns exec PREFIX-h2 COMMAND`; scripts/mesh-up.sh starts a
# node there when MESH_NETNS_<NODE>=PREFIX-h2 (docs/OPERATIONS.md, "A mesh across machines").
#
# Environment:
#   NETNS_SUBNET   the first three octets of the hosts' addresses (default 10.77.0)
set -euo pipefail

usage() { echo "usage: scripts/netns-hosts.sh up|down [PREFIX] | cut|restore HOST [PREFIX]" >&2; exit 64; }
[ $# -ge 1 ] || usage
action=$1
shift
host=
if [ "$action" = cut ] || [ "$action" = restore ]; then
  [ $# -ge 1 ] || usage
  host=$1
  shift
  [[ "$host" =~ ^[123]$ ]] || usage
fi
prefix=${1:-zm}
[[ "$prefix" =~ ^[a-z][a-z0-9]{0,5}$ ]] || { echo "netns-hosts: PREFIX must be 1 to 6 lowercase letters or digits, starting with a letter" >&2; exit 64; }
subnet=${NETNS_SUBNET:-10.77.0}
bridge=$prefix-br

command -v ip >/dev/null || { echo "netns-hosts: needs iproute2 (apt-get install -y iproute2)" >&2; exit 69; }

down() {
  for n in 1 2 3; do
    ip link del "$prefix-h$n" 2>/dev/null || true
    ip netns del "$prefix-h$n" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
}

up() {
  down
  ip link add "$bridge" type bridge
  ip addr add "$subnet.254/24" dev "$bridge"
  ip link set "$bridge" up
  for n in 1 2 3; do
    ns=$prefix-h$n
    ip netns add "$ns"
    ip link add "$ns" type veth peer name "$ns-in"
    ip link set "$ns-in" netns "$ns"
    ip -n "$ns" link set "$ns-in" name eth0
    ip -n "$ns" addr add "$subnet.$n/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip link set "$ns" master "$bridge"
    ip link set "$ns" up
  done
  # Every host reaches every other (a bridge with netfilter on may drop otherwise).
  for n in 1 2 3; do
    for m in 1 2 3 254; do
      [ "$n" = "$m" ] && continue
      # A TCP connect to a closed port: "refused" means the host answered.
      reply=$(ip netns exec "$prefix-h$n" timeout 3 bash -c "exec 3<>/dev/tcp/$subnet.$m/9" 2>&1 || true)
      [[ "$reply" == *refused* ]] || {
        echo "netns-hosts: $prefix-h$n cannot reach $subnet.$m" >&2
        exit 1
      }
    done
  done
  echo "netns-hosts: $prefix-h1 $subnet.1, $prefix-h2 $subnet.2, $prefix-h3 $subnet.3 on bridge $bridge ($subnet.254)"
}

case $action in
  up) up ;;
  down) down; echo "netns-hosts: removed $prefix-h1..3 and $bridge" ;;
  cut) ip link set "$prefix-h$host" down; echo "netns-hosts: cut $prefix-h$host" ;;
  restore) ip link set "$prefix-h$host" up; echo "netns-hosts: restored $prefix-h$host" ;;
  *) usage ;;
esac
