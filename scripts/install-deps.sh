#!/usr/bin/env bash
# Installs what nodeinspect needs on a Debian machine, only what is missing: the system tools it runs
# (bpftool, iproute2, iptables, nftables, ipset), what the lab and the helper are built with and run (clang,
# libbpf-dev, gcc, make, procps for sysctl), python3 (the live ss test's marked-socket owner), then the npm
# dependencies from the lockfile (which also builds dist/, the helper and the oclif manifest).
set -euo pipefail
cd "$(dirname "$0")/.."

# The tools live in sbin, which a non-root PATH may lack: look there too, as the lab does (src/lab/privileges.ts).
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

need=()
command -v bpftool >/dev/null || need+=(bpftool)
command -v ip >/dev/null && command -v tc >/dev/null || need+=(iproute2)
command -v iptables-save >/dev/null || need+=(iptables)
command -v nft >/dev/null || need+=(nftables)
command -v ipset >/dev/null || need+=(ipset)
command -v clang >/dev/null || need+=(clang)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
command -v gcc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v nsenter >/dev/null || need+=(util-linux)
command -v ss >/dev/null || need+=(iproute2)
command -v strace >/dev/null || need+=(strace) # tests only: the read-only syscall audit
command -v sysctl >/dev/null || need+=(procps)
command -v python3 >/dev/null || need+=(python3)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "nodeinspect: missing system packages (${need[*]}); install them as root (apt-get install ${need[*]})" >&2
  else
    echo "installing Debian packages: ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
