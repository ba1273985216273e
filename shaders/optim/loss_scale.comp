#version 450
// Dynamic loss scaling after the backward pass (engine/Training/LossScaling.cs), from the sum of squares of every
// (scaled) parameter gradient: include/scale_update.glsl. Where the sum's last dispatch is a reduce/sum_squares_many,
// that dispatch does it instead (its .loss_scale variant).
// Bindings: 0 step state, 1 total (one float).  Specialization: 0 MAX_NORM (0: no clipping), 1 GROWTH_INTERVAL
// (0: the scale never grows).  Dispatch: 1x1x1, local 1.
#include "kiln.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
layout(constant_id = 0) const float MAX_NORM = 0.0;
layout(constant_id = 1) const uint GROWTH_INTERVAL = 2000;
#define KILN_LOSS_SCALE_UPDATE 1
#include "scale_update.glsl"
layout(std430, binding = 1) readonly buffer Total { float total; };
void main() { kiln_scale_update(total); }
