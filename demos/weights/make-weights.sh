#!/usr/bin/env bash
# Makes the weights the inpaint and denoise demos start from (kiln demo loads them unless --weights says otherwise):
# trains the presets that are the demos' own networks on the data the engine generates (procedural images with
# brush-stroke and box masks; CPU path-traced frames in the demo's log(1 + c) space), then exports each checkpoint's
# parameters as F16 safetensors beside this script. Short runs: a trained start that online training then adapts to
# the scene, not a converged model. Training checkpoints, loss curves and sample pictures go to $RUNS.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-runs/demo-weights}
dotnet build demos/Kiln.Cli/Kiln.Cli.csproj -c Release -v quiet -nologo
kiln=demos/Kiln.Cli/bin/Release/net10.0/kiln

"$kiln" train demo-inpaint --set size=32 --set images=512 --epochs 25 --seed 1 --out "$RUNS/demo-inpaint"
"$kiln" export "$RUNS/demo-inpaint/checkpoint.safetensors" --f16 demos/weights/demo-inpaint.f16.safetensors

"$kiln" train demo-denoise --set size=32 --set scenes=48 --epochs 25 --seed 1 --out "$RUNS/demo-denoise"
"$kiln" export "$RUNS/demo-denoise/checkpoint.safetensors" --f16 demos/weights/demo-denoise.f16.safetensors

ls -l demos/weights/*.safetensors
