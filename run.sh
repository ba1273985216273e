#!/usr/bin/env bash
# Kiln's entry point for people and CI.
#   ./run.sh demo           install what is missing, build, then run `kiln info` and the inpainting demo headless for
#                           60 frames (PNG frames and stats.json in demo-out/inpaint)
#   ./run.sh test [ARGS]    install what is missing, build Engine.sln, then `dotnet test Engine.sln -c Release` with
#                           Vulkan validation on (KILN_VALIDATION=1), the cooperative-matrix tests left out; ARGS go to
#                           dotnet test (e.g. --filter Name~Conv); as root and without ARGS, the cooperative-matrix
#                           tests at the same time on Mesa 26's lavapipe (tools/coopmat-lavapipe.sh)
#   ./run.sh deps           only install what is missing (tools/ensure-deps.sh)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
}

need_dotnet() {
    command -v dotnet > /dev/null 2>&1 ||
        { echo "run.sh: ERROR: the .NET SDK (dotnet, version 10) is not on PATH; see https://dotnet.microsoft.com/download" >&2; exit 1; }
}

# The Vulkan loader and layers want a runtime folder; give them a private one when the session has none.
runtime_dir() {
    if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
        XDG_RUNTIME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kiln-xdg.XXXXXXXX")
        chmod 700 "$XDG_RUNTIME_DIR"
        export XDG_RUNTIME_DIR
        XDG_RUNTIME_DIR_MADE=$XDG_RUNTIME_DIR
        trap 'rm -rf "$XDG_RUNTIME_DIR_MADE"' EXIT
    fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift

case "$cmd" in
    demo)
        need_dotnet
        bash tools/ensure-deps.sh
        runtime_dir
        dotnet build demos/Kiln.Cli -c Release
        dotnet run --project demos/Kiln.Cli -c Release --no-build -- info
        dotnet run --project demos/Kiln.Cli -c Release --no-build -- demo inpaint --frames 60 --out demo-out/inpaint
        echo "run.sh: the frames are in demo-out/inpaint; to watch live in a browser: dotnet run --project demos/Kiln.Cli -c Release -- demo inpaint --serve 8080, then open http://127.0.0.1:8080"
        ;;
    test)
        need_dotnet
        bash tools/ensure-deps.sh
        runtime_dir
        export KILN_VALIDATION=1
        # Debian 12's lavapipe has no cooperative matrices, and their tests fail on a device without them: this pass
        # leaves the category out (a --filter in ARGS is combined with that), and a full run as root tests those kernels
        # on Mesa 26's lavapipe (a Debian 13 chroot, made once: tools/coopmat-lavapipe.sh) at the same time, in a
        # second process: almost all of either pass is lavapipe compiling pipelines on one core, so two passes take
        # two cores. A run with ARGS, without root or with KILN_SKIP_COOPMAT=1 says that it did not run them.
        filter="Category!=CooperativeMatrix"
        rest=()
        coopmat=0
        if [ $# -eq 0 ] && [ "${KILN_SKIP_COOPMAT:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then coopmat=1; fi
        while [ $# -gt 0 ]; do
            if [ "$1" = --filter ] && [ $# -gt 1 ]; then filter="$filter&($2)"; shift 2
            elif [ "$1" = --no-build ]; then shift
            else rest+=("$1"); shift; fi
        done
        if [ "$coopmat" = 1 ]; then
            # The chroot (debootstrap, once) is made while the solution builds.
            coopmat_log=$(mktemp "${TMPDIR:-/tmp}/kiln-coopmat-pass.XXXXXXXX")
            # Each background step leads a process group of its own, so that leaving early stops all of it.
            setsid bash tools/coopmat-lavapipe.sh setup > "$coopmat_log" 2>&1 &
            coopmat_pid=$!
            trap 'kill -- -"$coopmat_pid" 2> /dev/null || true; rm -rf "$coopmat_log" "${XDG_RUNTIME_DIR_MADE:-}"' EXIT
        fi
        # dotnet test builds only the test projects and what they reference; build the whole solution
        # first so that a broken demo fails the run too (and neither pass builds while the other reads the binaries).
        dotnet build Engine.sln -c Release
        if [ "$coopmat" = 1 ]; then
            wait "$coopmat_pid" || { cat "$coopmat_log" >&2; echo "run.sh: ERROR: making the Mesa 26 chroot failed" >&2; exit 1; }
            echo "run.sh: the cooperative-matrix tests run on Mesa 26's lavapipe alongside this pass; their output follows it"
            setsid bash tools/coopmat-lavapipe.sh test --logger "console;verbosity=normal" >> "$coopmat_log" 2>&1 &
            coopmat_pid=$!
        fi
        status=0
        dotnet test Engine.sln -c Release --no-build --logger "console;verbosity=normal" --filter "$filter" \
            ${rest[@]+"${rest[@]}"} || status=$?
        if [ "$coopmat" = 1 ]; then
            coopmat_status=0
            wait "$coopmat_pid" || coopmat_status=$?
            echo "run.sh: the cooperative-matrix pass (Mesa 26's lavapipe, tools/coopmat-lavapipe.sh test):"
            cat "$coopmat_log"
            [ "$coopmat_status" = 0 ] || { echo "run.sh: the cooperative-matrix pass failed (exit $coopmat_status)" >&2; status=1; }
        else
            echo "run.sh: the cooperative-matrix tests did not run (they run without ARGS, as root, on Mesa 26's lavapipe: tools/coopmat-lavapipe.sh test)"
        fi
        exit "$status"
        ;;
    deps)
        bash tools/ensure-deps.sh
        ;;
    -h|--help|help)
        usage
        ;;
    *)
        usage >&2
        exit 2
        ;;
esac
