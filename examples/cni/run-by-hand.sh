#!/bin/sh
# Runs vxnet-cni by hand the way a runtime does: CNI_* in the environment, the
# plugin's config on stdin (a conflist's plugin entry with the list's name and
# cniVersion merged in), ADD, CHECK with the ADD's result as prevResult, DEL.
#
#   sudo sh examples/cni/run-by-hand.sh               (network "demo" applied on this host first: vxnet apply)
#
# Environment: VXNET_CNI (the plugin, default: node dist/cni.cjs), CNI_PATH
# (default /usr/lib/cni: host-local), NETWORK (default demo), IPAM_DATA_DIR
# (host-local's dataDir, default the conflist's), KEEP=1 to leave the
# container attached. (test/integration/cni.test.ts runs this script.)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
plugin=${VXNET_CNI:-"node $here/../../dist/cni.cjs"}
network=${NETWORK:-demo}
export CNI_PATH=${CNI_PATH:-/usr/lib/cni}
export CNI_CONTAINERID=byhand-$$ CNI_IFNAME=eth0
ns=vxnet-cni-byhand-$$
ip netns add "$ns"
export CNI_NETNS=/run/netns/$ns
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT

# The config a runtime derives from vxnet.conflist for its one plugin.
config=$(sed "s/\"network\": \"demo\"/\"network\": \"$network\"/" "$here/vxnet.conflist" | node -e '
  const list = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const plugin = { cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] };
  if (process.env.IPAM_DATA_DIR) plugin.ipam.dataDir = process.env.IPAM_DATA_DIR;
  process.stdout.write(JSON.stringify(plugin));')

echo "== ADD"
result=$(printf '%s' "$config" | CNI_COMMAND=ADD $plugin) || { echo "$result"; exit 1; }
echo "$result"
ip -n "$ns" -br addr show dev eth0
ip -n "$ns" route

echo "== CHECK"
printf '%s' "$config" | node -e '
  const c = JSON.parse(require("fs").readFileSync(0, "utf8")); c.prevResult = JSON.parse(process.argv[1]);
  process.stdout.write(JSON.stringify(c));' "$result" | CNI_COMMAND=CHECK $plugin && echo ok

echo "== VERSION"
echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION $plugin

if [ "${KEEP:-0}" = 1 ]; then trap - EXIT; echo "kept: $ns"; exit 0; fi
echo "== DEL (twice: the second finds nothing, and succeeds)"
printf '%s' "$config" | CNI_COMMAND=DEL $plugin && echo ok
printf '%s' "$config" | CNI_COMMAND=DEL $plugin && echo ok
