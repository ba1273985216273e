#!/usr/bin/env bash
# Kiln's entry point for people and CI.
#   ./run.sh demo           install what is missing, build, then run `kiln info` and the inpainting demo headless for
#                           60 frames (PNG frames and stats.json in demo-out/inpaint)
#   ./run.sh test [ARGS]    install what is missing, build Engine.sln, then `dotnet test Engine.sln -c Release` with
#                           Vulkan validation on (KILN_VALIDATION=1), the cooperative-matrix tests left out; ARGS go to
#                           dotnet test (e.g. --filter Name~Conv); then, as root and without ARGS, the cooperative-matrix
#                           tests on Mesa 26's lavapipe (tools/coopmat-lavapipe.sh)
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
        trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
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
        # dotnet test builds only the test projects and what they reference; build the whole solution
        # first so that a broken demo fails the run too.
        dotnet build Engine.sln -c Release
        # Debian 12's lavapipe has no cooperative matrices, and their tests fail on a device without them: this pass
        # leaves the category out (a --filter in ARGS is combined with that), and a full run as root tests those kernels
        # on Mesa 26's lavapipe (a Debian 13 chroot, made once: tools/coopmat-lavapipe.sh). A run with ARGS, without
        # root or with KILN_SKIP_COOPMAT=1 says that it did not run them.
        filter="Category!=CooperativeMatrix"
        rest=()
        ran_args=$#
        while [ $# -gt 0 ]; do
            if [ "$1" = --filter ] && [ $# -gt 1 ]; then filter="$filter&($2)"; shift 2; else rest+=("$1"); shift; fi
        done
        dotnet test Engine.sln -c Release --logger "console;verbosity=normal" --filter "$filter" ${rest[@]+"${rest[@]}"}
        if [ "$ran_args" -eq 0 ] && [ "${KILN_SKIP_COOPMAT:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
            bash tools/coopmat-lavapipe.sh test --logger "console;verbosity=normal"
        else
            echo "run.sh: the cooperative-matrix tests did not run (they run without ARGS, as root, on Mesa 26's lavapipe: tools/coopmat-lavapipe.sh test)"
        fi
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
