#!/bin/bash
# The whole GPU check of Kiln in one go, run on a GPU machine from the project's root after
# ../shared/device/prepare.sh has filled .devcarry/ (README, "On a GPU"):
#   bash tools/device-check.sh OUT_DIR
# writes into OUT_DIR: selftest.log (every kernel the registry picks there, fp32 and fp16, against CPU references),
# torch_peer.json (the PyTorch peer on the same GPU), bench-fp32-untuned.json (fp32 with --autotune off: default
# tiles), bench-fp32.json and bench-fp16.json (tiles tuned per shape, the GPU default; every workload against the peer),
# tuning.json (the tile choices), bench.log (the tables), kernels.log (per-dispatch times of the heavy workloads at
# fp32) and demos.log (the denoising and inpainting demos at 1280x720, headless, with online training).
set -u
out=${1:?usage: tools/device-check.sh OUT_DIR}
mkdir -p "$out"
export OUT="$out"   # where the peer writes torch_peer.json
export KILN_CACHE_DIR=/tmp/kiln-cache   # pipeline cache and tile choices, shared by the runs below

timeout 150 bash .devcarry/remote.sh selftest > "$out/selftest.log" 2>&1
tail -1 "$out/selftest.log"; grep -E "FAIL|error:" "$out/selftest.log" | head -20
PEER=1 PEER_TIMEOUT=240 timeout 480 bash .devcarry/remote.sh bench --autotune off --peer "$out/torch_peer.json" --json "$out/bench-fp32-untuned.json" > "$out/bench.log" 2>&1
timeout 300 bash .devcarry/remote.sh bench --peer "$out/torch_peer.json" --json "$out/bench-fp32.json" >> "$out/bench.log" 2>&1
timeout 240 bash .devcarry/remote.sh bench --precision fp16 --peer "$out/torch_peer.json" --json "$out/bench-fp16.json" >> "$out/bench.log" 2>&1
cp /tmp/kiln-cache/tuning-*.json "$out/tuning.json" 2>/dev/null
grep -E "^(workload|conv|denoise|inpaint|mlp|fashion|playground|kiln bench|fp16|limit|autotune)" "$out/bench.log"
timeout 200 bash .devcarry/remote.sh bench denoise_unet_1920 inpaint conv3x3_c64_512_bwd conv_autoencoder mlp --kernels > "$out/kernels.log" 2>&1
for demo in denoise inpaint; do
  echo "== kiln demo $demo --size 1280x720 --frames 180" >> "$out/demos.log"
  timeout 150 bash .devcarry/remote.sh demo $demo --size 1280x720 --frames 180 --every 1000 --out /tmp/kiln-demo-$demo >> "$out/demos.log" 2>&1
done
grep -E "fps|GPU ms|mean metrics|==" "$out/demos.log"
