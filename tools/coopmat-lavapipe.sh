#!/usr/bin/env bash
# Runs Kiln against a Vulkan driver with cooperative matrices on a machine without a GPU: lavapipe of Mesa 26 (from
# Debian 13's backports) has VK_KHR_cooperative_matrix (8x8x8 fp16 tiles with f32 accumulation, 8-wide subgroups) and
# VK_NV_cooperative_matrix2 (flexible dimensions, per-element operations, conversions; no workgroup scope, no tensor
# addressing: Kiln's coopmat2 kernels run there in their .subgroup form), where Debian 12's Mesa has neither. It lives in a Debian 13 chroot made once under
# $KILN_COOPMAT_ROOT (default /var/tmp/kiln-trixie, about 400 MB); the project folder, the .NET SDK and the NuGet cache
# are bind-mounted at their own paths in a private mount namespace, so what `dotnet build` made outside runs inside.
#   tools/coopmat-lavapipe.sh setup            make the chroot (debootstrap) unless it is there; needs root
#   tools/coopmat-lavapipe.sh run CMD...       run CMD in the project folder inside the chroot
#   tools/coopmat-lavapipe.sh test [ARGS]      the tests of the cooperative-matrix kernels (Category=CooperativeMatrix,
#                                              built already: dotnet test --no-build -c Release), validation on (on a
#                                              device without the matrices they fail); ARGS go to dotnet test, a
#                                              --filter narrowing the category
# KILN_COOPMAT_SUITE=sid makes and uses a Debian sid chroot instead (default /var/tmp/kiln-sid): a newer Mesa and a
# newer validation layer, which find what the older ones let through.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite=${KILN_COOPMAT_SUITE:-trixie}
case "$suite" in trixie|sid) ;; *) echo "coopmat-lavapipe: ERROR: KILN_COOPMAT_SUITE is trixie or sid, not '$suite'." >&2; exit 2 ;; esac
root=${KILN_COOPMAT_ROOT:-/var/tmp/kiln-$suite}
mirror=${KILN_DEBIAN_MIRROR:-http://deb.debian.org/debian}

fail() { echo "coopmat-lavapipe: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot and bind mounts)."

setup() {
    [ -f "$root/.kiln-ready" ] && return 0
    command -v debootstrap > /dev/null 2>&1 || {
        echo "coopmat-lavapipe: installing debootstrap..."
        { DEBIAN_FRONTEND=noninteractive apt-get -q -o Acquire::Retries=3 install -y --no-install-recommends debootstrap ||
          { apt-get -q -o Acquire::Retries=3 update &&
            DEBIAN_FRONTEND=noninteractive apt-get -q -o Acquire::Retries=3 install -y --no-install-recommends debootstrap; }; } > /dev/null ||
            fail "could not install debootstrap."
    }
    local log
    log=$(mktemp "${TMPDIR:-/tmp}/kiln-coopmat.XXXXXXXX")
    echo "coopmat-lavapipe: making a Debian $suite chroot in $root (a few minutes; log: $log)..."
    # A download that fails on a fresh CI machine is tried again: debootstrap once more from scratch, apt inside the
    # chroot by its own Acquire::Retries.
    local attempt
    for attempt in 1 2; do
        rm -rf "$root"
        debootstrap --variant=minbase "$suite" "$root" "$mirror" >> "$log" 2>&1 && break
        [ "$attempt" = 2 ] && fail "debootstrap failed twice (see $log)."
        echo "coopmat-lavapipe: debootstrap failed; trying once more in 10 s..."
        sleep 10
    done
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    echo 'Acquire::Retries "3";' > "$root/etc/apt/apt.conf.d/80kiln-retries"
    if [ "$suite" = trixie ]; then
        echo "deb $mirror trixie-backports main" > "$root/etc/apt/sources.list.d/backports.list"
        chroot "$root" /bin/sh -c "apt-get -q update &&
            DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends -t trixie-backports mesa-vulkan-drivers &&
            DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends libvulkan1 vulkan-validationlayers \
                libicu76 libssl3t64 ca-certificates" >> "$log" 2>&1 || fail "installing Mesa from trixie-backports failed (see $log)."
    else
        # A mirror's sid Release file may have expired: a rolling suite, taken as it is.
        chroot "$root" /bin/sh -c "apt-get -q -o Acquire::Check-Valid-Until=false update &&
            DEBIAN_FRONTEND=noninteractive apt-get -q -o Acquire::Check-Valid-Until=false install -y --no-install-recommends \
                mesa-vulkan-drivers libvulkan1 vulkan-validationlayers libicu-dev libssl3t64 ca-certificates" >> "$log" 2>&1 ||
            fail "installing Mesa from sid failed (see $log)."
    fi
    touch "$root/.kiln-ready"
}

# Runs "$@" in the project folder inside the chroot, in a mount namespace of its own (the bind mounts go with it).
inside() {
    local dotnet_root nuget=${NUGET_PACKAGES:-$HOME/.nuget/packages}
    dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    mkdir -p "$nuget"
    unshare --mount --propagation private /bin/bash -s -- "$@" <<EOF
set -e
for d in /proc /dev "$here" "$dotnet_root" "$nuget"; do mkdir -p "$root\$d"; mount --bind "\$d" "$root\$d"; done
exec chroot "$root" /usr/bin/env -i PATH="$dotnet_root:/usr/bin:/bin" HOME=/root DOTNET_ROOT="$dotnet_root" \
    NUGET_PACKAGES="$nuget" XDG_RUNTIME_DIR=/tmp DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
    KILN_VALIDATION="${KILN_VALIDATION:-1}" /bin/bash -c 'cd "$here" && exec "\$@"' bash "\$@"
EOF
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    setup) setup ;;
    run) setup; inside "$@" ;;
    test)
        setup
        # A --filter of the caller's narrows the category's tests (dotnet test takes one filter).
        filter="Category=CooperativeMatrix"
        rest=()
        while [ $# -gt 0 ]; do
            if [ "$1" = --filter ] && [ $# -gt 1 ]; then filter="$filter&($2)"; shift 2; else rest+=("$1"); shift; fi
        done
        inside dotnet test tests/Kiln.Tests -c Release --no-build --filter "$filter" "${rest[@]}" ;;
    *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
