#!/usr/bin/env bash
# Installs what nodeinspect needs on a Debian machine, only what is missing: the system tools it runs
# (bpftool, iproute2, iptables, nftables, ipset), what the lab and the helper are built with and run (clang,
# libbpf-dev, gcc, make, procps for sysctl), what `npm pack` builds the static helpers with (Debian's arm64 cross
# gcc and libc; `file` and qemu-user-static check them), python3 (the live ss test's marked-socket owner), then
# the npm dependencies from the lockfile (npm ci; the build is `npm run build`, which npm test and npm run demo
# run: the package has no prepare script, so that installing it from a tarball has no script to run).
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
# npm pack (prepack) links the helper statically for linux-x64 and linux-arm64: the host's gcc and libc6-dev for its
# own arch, Debian's cross gcc for the other.
case "$(uname -m)" in
  aarch64) command -v x86_64-linux-gnu-gcc >/dev/null || need+=(gcc-x86-64-linux-gnu libc6-dev-amd64-cross) ;;
  *) command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
esac
command -v file >/dev/null || need+=(file)                             # tests only: the packed helpers are static
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static) # tests only: the arm64 helper runs
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
