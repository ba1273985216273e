#!/bin/bash
# The GPU check of Kiln, run on a GPU machine from the project's root after ../shared/device/prepare.sh has filled
# .devcarry/ (README, "On a GPU"), in two parts that each fit one device call:
#   bash tools/device-check.sh OUT_DIR bench    selftest.log (every kernel the registry picks there, fp32 and fp16,
#                                               against CPU references), torch_peer.json (the PyTorch peer on the same
#                                               GPU), bench-fp16.json then bench-fp32.json (tiles tuned per shape, every
#                                               workload against the peer, NCHW activations: the layout part times
#                                               NHWC and the automatic choice), tuning.json, bench.log (the tables)
#   bash tools/device-check.sh OUT_DIR demos    kernels.log (per-dispatch times of the denoiser and the inpainting step
#                                               at fp16 and fp32 with each dispatch's TFLOP/s, GB/s and fraction of the
#                                               roofline, the memory-bound ones printed; the denoiser at fp16 without
#                                               row bands), demos.log (denoising and inpainting at 1280x720,
#                                               headless, online training, fp32 and fp16)
#   bash tools/device-check.sh OUT_DIR compare  compare.log: the conv workloads and the inpainting step at fp16, untuned,
#                                               with each family of kernels forced (--prefer): the tensor-core ones
#                                               (cooperative_matrix2, patch, then im2col forward) against the tiled ones, per dispatch (the data behind the
#                                               untuned choices and the tuner's); the conv workloads and the
#                                               denoiser at fp32 with the Winograd, tiled and direct forwards (and
#                                               Winograd or tiled weight gradients) forced;
#                                               then the MLP step at fp16 on the tile kernels against the tensor-core ones
#   bash tools/device-check.sh OUT_DIR layout   layout.log: both denoiser workloads, tuned, per dispatch: at fp16 with
#                                               NCHW, then NHWC activations forced (--layout), then the automatic
#                                               choice (CompileOptions.ActivationLayout null: both timed, the faster
#                                               kept); then the training steps of the conv workloads and the
#                                               inpainting UNet (its decoders' gradients by sub-pixel phase) at fp16,
#                                               and the autoencoder's (strided and transposed convolutions on the f32
#                                               implicit GEMM and tiled weight gradient) at fp32, with NHWC
#                                               activations, tuned (their NCHW times are the bench part's)
#   bash tools/device-check.sh OUT_DIR subpixel subpixel.log: both denoiser workloads untuned, per dispatch, the decoders'
#                                               convolutions by sub-pixel phase against their .concat kernels: at fp16
#                                               on cooperative_matrix2 (Conv2dCoopMat2SubPixel named, then not) and on
#                                               the KHR patch kernel (Conv2dCoopMatPatchSubPixel named, then not), at
#                                               fp32 on the direct kernel (Conv2dDirectSubPixel named, then not); then
#                                               the inpainting step at fp16, its decoders' gradients by sub-pixel phase
#                                               (--subpixel on, the default) against their 3x3 form (--subpixel off)
#   bash tools/device-check.sh OUT_DIR fresh    fresh.log: the kernels that have not run on a GPU yet, checked then timed:
#                                               selftest of the convolutions (the tensor-addressed cooperative_matrix2
#                                               forward, its .pool variant and weight gradient, the narrow forward, the
#                                               f32 implicit GEMM and the strided gradients by phase on it among the
#                                               entries it checks) and the fused MLP (its tensor-core kernels
#                                               rewritten), kiln bench gemm and the conv workloads at fp16 tuned with
#                                               every candidate's time traced (the 4096^3 product on Linear's and the
#                                               convolution's kernels, the patch kernel's .sa tiles),
#                                               the MLP step at fp16 with MlpCoopMatKernels named, per
#                                               dispatch, the conv workloads and the denoiser at
#                                               fp16 untuned with both tensor-addressed kernels named (the forward
#                                               also the input gradients') and the narrow forward (the denoiser's last
#                                               layer), per dispatch, and the
#                                               autoencoder step at fp32 untuned with the implicit GEMMs (convolution,
#                                               strided gradients by phase, Linear's tiled products) named, then tuned;
#                                               the MLP step at fp32 and fp16 tuned (each fused entry, the tiled one's
#                                               backward rewritten too, or the layers on the tiled GEMM)
#   bash tools/device-check.sh OUT_DIR quick    info.log, selftest.log, torch_peer.json, bench-fp16-untuned.json, bench.log,
#                                               bandwidth.log and -fp32/-fp16.json (kiln bench bandwidth): the first
#                                               call on a machine never seen, so a failure shows in minutes
#   bash tools/device-check.sh OUT_DIR tuned    bench-fp16.json/.log, bench-fp32.json/.log (per dispatch, the tuner's candidate
#                                               times in the logs), tuning.json, demo.log: the second call, after quick
# (no part: bench and demos). The pipeline cache and tile choices are kept in /tmp/kiln-cache, shared by the runs of one
# machine: a shape a budget left untuned in one part is timed by the next that meets it.
set -u
out=${1:?usage: tools/device-check.sh OUT_DIR [quick|tuned|bench|demos|compare|layout|subpixel|fresh]}
part=${2:-all}
mkdir -p "$out"
export OUT="$out"   # where the peer writes torch_peer.json
export KILN_CACHE_DIR=/tmp/kiln-cache
# Each kiln process times kernels for at most this long (ContextOptions.TuningBudget); shapes past it keep their untuned
# kernels, so no command runs into its timeout tuning. The bench part sets its own (--tune-budget).
export KILN_TUNING_BUDGET=${KILN_TUNING_BUDGET:-45}
# The app as a command line, not a shell function: timeout runs programs only.
kiln="bash .devcarry/remote.sh"
# The summary of bench logs: the lines that start with one of ROWS (an extended regex alternation) and the targets table
# (`kiln bench --peer` prints it from its "target" header to its "targets:" count), in the order they were printed.
bench_summary() {
  local rows=$1; shift
  awk -v rows="^($rows)" '/^target /{t=1} t || $0 ~ rows {print} /^targets:/{t=0}' "$@"
}

if [ "$part" = quick ]; then
  # The first call on a machine never seen (worst case 430 s): the device's features, the selftest, then the peer and
  # every workload at fp16 with the untuned kernels (no timing of candidates), so a failure shows before a long run.
  timeout 20 $kiln info > "$out/info.log" 2>&1; cat "$out/info.log"
  timeout 100 $kiln selftest --budget 85 > "$out/selftest.log" 2>&1
  tail -2 "$out/selftest.log"; grep -E "FAIL|rror" "$out/selftest.log" | head -30
  PEER=1 PEER_TIMEOUT=170 timeout 230 $kiln bench --precision fp16 --autotune off --peer "$out/torch_peer.json" --json "$out/bench-fp16-untuned.json" > "$out/bench.log" 2>&1
  grep -vE "^\{" "$out/bench.log" | head -60
  # The bandwidth-bound passes alone (GB/s against the copy bandwidth), both precisions, per dispatch; untuned (the
  # Adam step's Linear products would be timed first).
  for precision in fp32 fp16; do
    timeout 40 $kiln bench bandwidth --precision $precision --autotune off --kernels --json "$out/bandwidth-$precision.json" >> "$out/bandwidth.log" 2>&1
  done
  bench_summary "bandwidth" "$out/bandwidth.log"
fi
if [ "$part" = tuned ]; then
  # After quick (worst case 575 s): every workload tuned, fp16 then fp32, per dispatch, against the peer's JSON that the
  # quick call wrote (copied to .devcarry/torch_peer.json), each timed shape's candidates logged (KILN_TUNING_TRACE);
  # then the denoising demo's real-time loop at fp16.
  export KILN_TUNING_TRACE=1
  timeout 330 $kiln bench --precision fp16 --layout nchw --kernels --tune-budget 230 --peer .devcarry/torch_peer.json --json "$out/bench-fp16.json" > "$out/bench-fp16.log" 2>&1
  timeout 190 $kiln bench --layout nchw --kernels --tune-budget 110 --peer .devcarry/torch_peer.json --json "$out/bench-fp32.json" > "$out/bench-fp32.log" 2>&1
  cp /tmp/kiln-cache/tuning-*.json "$out/tuning.json" 2>/dev/null
  timeout 45 $kiln demo denoise --precision fp16 --size 1280x720 --frames 120 --every 1000 --out /tmp/kiln-demo > "$out/demo.log" 2>&1
  bench_summary "workload|conv|denoise|inpaint|mlp|fashion|playground|autotune" "$out/bench-fp16.log" "$out/bench-fp32.log"
  grep -E "fps|GPU ms" "$out/demo.log"
fi
if [ "$part" = bench ] || [ "$part" = all ]; then
  # fp16 first (the tensor-core kernels and most targets), fp32 in what is left of the call: worst case 590 s. The
  # peer takes up to 200 s of the first bench's 330, so each bench caps its kernel timing (--tune-budget, shared out
  # over the workloads: shapes past a workload's share keep their untuned kernels, counted in the JSON's "untuned"; the
  # tuning file keeps what was timed for the later parts). Each bench rewrites its JSON after every workload, so one cut short keeps the rows it finished.
  # --budget: on a first run most of it is compiling pipelines; the last line says what it did not reach.
  timeout 90 $kiln selftest --budget 75 > "$out/selftest.log" 2>&1
  tail -1 "$out/selftest.log"; grep -E "FAIL|error:" "$out/selftest.log" | head -20
  PEER=1 PEER_TIMEOUT=200 timeout 330 $kiln bench --precision fp16 --layout nchw --tune-budget 60 --peer "$out/torch_peer.json" --json "$out/bench-fp16.json" > "$out/bench.log" 2>&1
  timeout 170 $kiln bench --layout nchw --tune-budget 50 --peer "$out/torch_peer.json" --json "$out/bench-fp32.json" >> "$out/bench.log" 2>&1
  cp /tmp/kiln-cache/tuning-*.json "$out/tuning.json" 2>/dev/null
  bench_summary "workload|conv|denoise|inpaint|mlp|fashion|playground|kiln bench|fp16|limit|autotune" "$out/bench.log"
fi
if [ "$part" = demos ] || [ "$part" = all ]; then
  for p in fp16 fp32; do
    timeout 110 $kiln bench denoise_unet_1280 inpaint --precision $p --kernels >> "$out/kernels.log" 2>&1
  done
  # The bandwidth-bound passes' fraction of the copy bandwidth (#7: >= 80%), slowest first within each workload.
  grep -E "^(workload|inpaint|denoise)|memory *$" "$out/kernels.log" | head -40
  # What the denoiser's row bands cost: the same plan unbanded.
  timeout 60 $kiln bench denoise_unet_1280 --precision fp16 --row-bands 0 >> "$out/kernels.log" 2>&1
  for run in "denoise fp16" "denoise fp32" "inpaint fp16"; do
    set -- $run
    echo "== kiln demo $1 --precision $2 --size 1280x720 --frames 120" >> "$out/demos.log"
    timeout 100 $kiln demo $1 --precision $2 --size 1280x720 --frames 120 --every 1000 --out /tmp/kiln-demo-$1-$2 >> "$out/demos.log" 2>&1
  done
  grep -E "fps|GPU ms|mean metrics|==" "$out/demos.log"
fi
if [ "$part" = compare ]; then
  for prefer in Conv2dCoopMat2,Conv2dWeightGradCoopMat2,LinearCoopMat2 Conv2dCoopMatPatch,Conv2dWeightGradCoopMatPatch,LinearCoopMat Conv2dCoopMat,Conv2dWeightGradCoopMat,LinearCoopMat Conv2dTiled,Conv2dWeightGradTiled; do
    echo "== --prefer $prefer" >> "$out/compare.log"
    timeout 80 $kiln bench conv3x3 inpaint --precision fp16 --autotune off --kernels --prefer $prefer >> "$out/compare.log" 2>&1
  done
  for prefer in Conv2dWinograd,Conv2dWeightGradWinograd Conv2dTiled,Conv2dWeightGradTiled Conv2dDirect,Conv2dWeightGradTiled; do
    echo "== fp32 --prefer $prefer" >> "$out/compare.log"
    timeout 60 $kiln bench conv3x3 denoise_unet_1280 --precision fp32 --autotune off --kernels --prefer $prefer >> "$out/compare.log" 2>&1
  done
  for prefer in MlpCoopMatKernels MlpTileKernels; do
    echo "== --prefer $prefer" >> "$out/compare.log"
    timeout 40 $kiln bench mlp_64x4 --precision fp16 --kernels --prefer $prefer >> "$out/compare.log" 2>&1
  done
  grep -E "^(==|conv3x3|inpaint|denoise|mlp)" "$out/compare.log"
fi
if [ "$part" = layout ]; then
  # Worst case 510 s. "auto" leaves the layout to the compile (the first run of each layout's kernels tunes them).
  for run in "fp16 nchw" "fp16 nhwc" "fp16 auto"; do
    set -- $run
    layout=(--layout "$2"); [ "$2" = auto ] && layout=()
    echo "== --precision $1 --layout $2" >> "$out/layout.log"
    timeout 110 $kiln bench denoise --precision "$1" "${layout[@]}" --kernels >> "$out/layout.log" 2>&1
  done
  # Channels-last training steps: the NHWC patch weight gradient, the input gradients through the NHWC forwards, the
  # decoders' by sub-pixel phase; the autoencoder's strided layers at fp32 on the NHWC implicit GEMM by phase.
  for run in "_bwd fp16" "inpaint fp16" "conv_autoencoder fp32"; do
    set -- $run
    echo "== $1 --precision $2 --layout nhwc" >> "$out/layout.log"
    timeout 60 $kiln bench $1 --precision $2 --layout nhwc --kernels >> "$out/layout.log" 2>&1
  done
  grep -E "^(==|denoise|conv3x3|inpaint|conv_autoencoder)" "$out/layout.log"
fi
if [ "$part" = subpixel ]; then
  # Worst case 580 s.
  for run in "fp16 Conv2dCoopMat2SubPixel,Conv2dCoopMat2" "fp16 Conv2dCoopMat2" "fp16 Conv2dCoopMatPatchSubPixel,Conv2dCoopMatPatch" \
             "fp16 Conv2dCoopMatPatch" "fp32 Conv2dDirectSubPixel,Conv2dDirect" "fp32 Conv2dDirect"; do
    set -- $run
    echo "== --precision $1 --prefer $2" >> "$out/subpixel.log"
    timeout 70 $kiln bench denoise --precision "$1" --layout nchw --autotune off --kernels --prefer "$2" >> "$out/subpixel.log" 2>&1
  done
  for on in on off; do
    echo "== inpaint --precision fp16 --subpixel $on" >> "$out/subpixel.log"
    timeout 80 $kiln bench inpaint --precision fp16 --autotune off --kernels --subpixel $on >> "$out/subpixel.log" 2>&1
  done
  grep -E "^(==|denoise|inpaint)|subpixel|concat" "$out/subpixel.log"
fi
if [ "$part" = fresh ]; then
  # Worst case 575 s. The selftest first: a kernel that disagrees with the plain f32 one shows there (and the tuner would
  # reject it for that shape); the timings after it are of named kernels, untuned, then of the tuner's choice.
  timeout 80 $kiln selftest conv2d conv_transpose2d decoder_conv conv_pool conv_pool_grad linear_act_grad mlp --budget 70 > "$out/fresh.log" 2>&1
  # The GEMM machinery alone (a 4096^3 product through Linear and through a 1x1 convolution), then the conv workloads,
  # tuned, every candidate kernel's time in the tuner's trace (the patch kernel's .sa tiles, weights staged in shared
  # memory, among them), against TOOLCHAIN.md's plain GEMMs on the same GPU.
  echo "== gemm conv3x3 fp16, tuned, traced" >> "$out/fresh.log"
  KILN_TUNING_TRACE=1 timeout 75 $kiln bench gemm conv3x3 --precision fp16 --kernels >> "$out/fresh.log" 2>&1
  # The fused MLP on tensor cores (pack, forward, deltas, weight gradients): named, so timed whatever the fusion choice.
  echo "== fp16 --prefer MlpCoopMatKernels" >> "$out/fresh.log"
  timeout 50 $kiln bench mlp_64x4 --precision fp16 --autotune off --kernels --prefer MlpCoopMatKernels >> "$out/fresh.log" 2>&1
  echo "== fp16 --prefer Conv2dCoopMat2Tensor,Conv2dWeightGradCoopMat2Tensor,Conv2dNarrow" >> "$out/fresh.log"
  timeout 90 $kiln bench conv3x3 denoise --precision fp16 --autotune off --kernels --prefer Conv2dCoopMat2Tensor,Conv2dWeightGradCoopMat2Tensor,Conv2dNarrow >> "$out/fresh.log" 2>&1
  echo "== fp32 --prefer Conv2dImplicitGemm,Conv2dInputGradPhases,LinearGemmTiled" >> "$out/fresh.log"
  timeout 60 $kiln bench conv_autoencoder --precision fp32 --autotune off --kernels --prefer Conv2dImplicitGemm,Conv2dInputGradPhases,LinearGemmTiled >> "$out/fresh.log" 2>&1
  echo "== fp32 tuned" >> "$out/fresh.log"
  timeout 100 $kiln bench conv_autoencoder --precision fp32 --kernels >> "$out/fresh.log" 2>&1
  # The MLP step on each fused-MLP entry against its layers on the tiled GEMM (PlanChoices.FuseMlp times them all where
  # it tunes), at both precisions.
  for precision in fp32 fp16; do
    KILN_TUNING_TRACE=1 timeout 60 $kiln bench mlp_64x4 --precision $precision --kernels >> "$out/fresh.log" 2>&1
  done
  grep -E "^(==|conv3x3|denoise|conv_autoencoder|mlp|gemm)|mlp_fusion|FAIL|passed|failed|rror" "$out/fresh.log"
fi
