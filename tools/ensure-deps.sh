#!/usr/bin/env bash
# Makes sure the machine can build and test Kiln: the Vulkan loader, Mesa's software Vulkan driver
# (lavapipe), the validation layers, glslc and spirv-tools from Debian, and then the newer shader
# compiler in tools/shaderc (tools/setup-shader-toolchain.sh). Installs only what is missing (checked
# with dpkg -s); silent when everything is already there. Needs root (or password-less sudo) only when
# something has to be installed. Called by ./run.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# dataset-fashion-mnist: the real data the IDX reader is tested on and the fashion presets train on.
# chromium: the browser the viewer's smoke test drives through Playwright (/usr/bin/chromium).
# ffmpeg: the MP4 output of headless demo runs, which its tests decode back frame by frame.
# libglfw3, xvfb: the host sample's window (GLFW through P/Invoke), tested under a virtual X server.
# python3-torch: PyTorch for /usr/bin/python3, which loads a Kiln checkpoint and writes one back in a test.
pkgs=(mesa-vulkan-drivers libvulkan1 glslc spirv-tools vulkan-validationlayers vulkan-tools dataset-fashion-mnist chromium ffmpeg
      libglfw3 xvfb python3-torch)

fail() {
    echo "ensure-deps: ERROR: $*" >&2
    exit 1
}

missing=()
if command -v dpkg > /dev/null 2>&1; then
    for p in "${pkgs[@]}"; do
        # dpkg -s succeeds for removed-but-not-purged packages too; require the installed state.
        if ! dpkg-query -W -f='${Status}\n' "$p" 2> /dev/null | grep -q ' installed$'; then
            missing+=("$p")
        fi
    done
else
    # Not a Debian system: say what is needed unless the tools are already there.
    if ! command -v glslc > /dev/null 2>&1 || ! command -v spirv-val > /dev/null 2>&1; then
        fail "this is not a Debian/Ubuntu system (no dpkg). Install the Vulkan loader, a Vulkan driver (e.g. Mesa lavapipe),
the Khronos validation layers, glslc (shaderc) and spirv-tools with your package manager, then rerun."
    fi
fi

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        sudo=()
    elif command -v sudo > /dev/null 2>&1 && sudo -n true 2> /dev/null; then
        sudo=(sudo -n)
    else
        fail "missing Debian packages: ${missing[*]}.
Install them as root:  apt-get update && apt-get install -y ${missing[*]}"
    fi
    echo "ensure-deps: installing ${missing[*]}..."
    log=$(mktemp "${TMPDIR:-/tmp}/kiln-ensure-deps.XXXXXXXX")
    # A fresh CI machine downloads everything: a fetch that fails is tried again (Acquire::Retries) before the run fails.
    if ! { "${sudo[@]}" apt-get -q -o Acquire::Retries=3 update &&
           "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o Acquire::Retries=3 install -y --no-install-recommends "${missing[@]}"; } > "$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        fail "installing ${missing[*]} failed (apt output above)."
    fi
    rm -f "$log"
fi

bash "$here/setup-shader-toolchain.sh" --quiet ||
    fail "tools/setup-shader-toolchain.sh could not provide a shader compiler that handles cooperative-matrix shaders (see above)."
