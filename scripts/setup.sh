#!/usr/bin/env bash
# Prepares a fresh Debian machine (as root) to build, test and demo vxnet.
# Idempotent: installs only what is missing.
#   bash scripts/setup.sh            what the demo needs (npm run demo)
#   bash scripts/setup.sh --test     and what every test needs (npm test: FRR, …)
#   bash scripts/setup.sh --bench    and what the benchmarks compare against (pyroute2)
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools the tests and the demo use: ip/bridge and nft are test oracles
# (the library never runs them), dnsmasq is the DHCP server vxnet supervises,
# udhcpc the real DHCP client in the containers, nsenter (util-linux) is how
# vxnet runs a socket inside a named network namespace.
# dnsmasq-base is the binary without Debian's system service, which would
# otherwise start and hold ports 53/67 on every interface.
need_apt=()
command -v ip >/dev/null || need_apt+=(iproute2)
command -v nft >/dev/null || need_apt+=(nftables)
command -v dnsmasq >/dev/null || need_apt+=(dnsmasq-base)
command -v udhcpc >/dev/null || need_apt+=(udhcpc)
command -v nsenter >/dev/null || need_apt+=(util-linux)
command -v ping >/dev/null || need_apt+=(iputils-ping)
[ -f /usr/include/linux/if_link.h ] || need_apt+=(linux-libc-dev)
want_test=false want_bench=false
for arg in "$@"; do
  case "$arg" in
    --test) want_test=true ;;
    --bench) want_bench=true ;;
    *) echo "setup: unknown option $arg (known: --test, --bench)" >&2; exit 64 ;;
  esac
done
if $want_test; then
  # FRR: routed mode with BGP (vxnet runs its own zebra and bgpd per network;
  # the tests read vtysh as an oracle). The demo does not use it.
  [ -x /usr/lib/frr/bgpd ] && [ -x /usr/lib/frr/zebra ] && command -v vtysh >/dev/null || need_apt+=(frr)
  # Containers on the overlay through real runtimes (the CNI plugin, LXC):
  # podman 4.3 with its CNI backend and runc (crun 1.8 refuses this VM's
  # cgroup mode), the reference CNI plugins (/usr/lib/cni: bridge, host-local,
  # static, dhcp), LXC 5 (lxc-create -t busybox).
  command -v podman >/dev/null || need_apt+=(podman)
  command -v runc >/dev/null || need_apt+=(runc)
  [ -x /usr/lib/cni/host-local ] || need_apt+=(containernetworking-plugins)
  command -v lxc-create >/dev/null || need_apt+=(lxc)
  # etcd 3.4 for the agent's membership tests: the lab runs its own 3-member
  # cluster in the hosts' namespaces; etcdctl is the tests' oracle.
  command -v etcd >/dev/null || need_apt+=(etcd-server)
  command -v etcdctl >/dev/null || need_apt+=(etcd-client)
  # openssl makes the certificates of the etcd-over-TLS test.
  command -v openssl >/dev/null || need_apt+=(openssl)
fi
if $want_bench; then
  # Debian's interpreter: the benchmarks run /usr/bin/python3 (a pyenv or venv python3 on PATH may lack it).
  /usr/bin/python3 -c 'import pyroute2' 2>/dev/null || need_apt+=(python3-pyroute2)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian's etcd-server enables a system service (localhost:2379, /var/lib/etcd): the tests need none of it,
  # and never use it. Stopped where an init system started it.
  if [[ " ${need_apt[*]} " == *" etcd-server "* ]]; then
    if [ -d /run/systemd/system ]; then systemctl disable --now etcd >/dev/null 2>&1 || true
    else service etcd stop >/dev/null 2>&1 || true; fi
  fi
fi

# A static busybox for container images (podman import) and LXC's busybox
# template. Installing busybox-static would replace Debian's busybox, so the
# package is unpacked into a directory of its own instead.
BUSYBOX_STATIC_DIR=/var/cache/vxnet/busybox-static
if $want_test && [ ! -x "$BUSYBOX_STATIC_DIR/bin/busybox" ]; then
  echo "setup: unpacking busybox-static into $BUSYBOX_STATIC_DIR"
  [ ${#need_apt[@]} -gt 0 ] || apt-get update -qq
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq busybox-static >/dev/null)
  mkdir -p "$BUSYBOX_STATIC_DIR"
  dpkg-deb -x "$tmp"/busybox-static_*.deb "$BUSYBOX_STATIC_DIR"
  rm -rf "$tmp"
fi

# node_modules from the lockfile. npm 11 does not run dependencies' install
# scripts unless allowed; none is needed (node-netlink ships a prebuilt
# binary, esbuild ships its platform package).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
echo "setup: ready"
