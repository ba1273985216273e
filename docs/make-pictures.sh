#!/bin/bash
# Trains the presets with their default recipes (README, "Training presets") and copies what each produces into
# docs/images/, the pictures the README shows. Run from anywhere after a Release build (./run.sh builds one):
#   bash docs/make-pictures.sh [RUNS_DIR]
# The training runs stay in RUNS_DIR (default runs/pictures), with their metrics.json and checkpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=demos/Kiln.Cli/bin/Release/net10.0/kiln
[ -x "$kiln" ] || { echo "make-pictures: build first (dotnet build Engine.sln -c Release)" >&2; exit 2; }
runs=${1:-runs/pictures}
img=docs/images
mkdir -p "$img"
train() { local preset=$1; shift; echo "== kiln train $preset $*"; "$kiln" train "$preset" --seed 0 --out "$runs/$preset" "$@"; }

for p in playground-circle playground-xor playground-gauss playground-spiral; do
  train $p
  cp "$runs/$p/boundary.png" "$img/$p.png"
done
train fashion-ae2d
cp "$runs/fashion-ae2d/latent.png" "$img/fashion-ae2d-latent.png"
for p in fashion-ae fashion-dae inpaint-unet denoise-unet; do
  train $p
  cp "$runs/$p/samples.png" "$img/$p-samples.png"
done
cp "$runs/fashion-ae/loss.png" "$img/fashion-ae-loss.png"
echo "pictures in $img"
