#version 450
// Global-norm clipping's factor (include/scale_update.glsl), from the sum of squares of every gradient. Where the sum's
// last dispatch is a reduce/sum_squares_many, that dispatch does it instead (its .clip_scale variant).
// Bindings: 0 step state, 1 total (one float, the sum of squares).  Specialization: 0 MAX_NORM.  Dispatch: 1x1x1, local 1.
#include "kiln.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
layout(constant_id = 0) const float MAX_NORM = 1.0;
#include "scale_update.glsl"
layout(std430, binding = 1) readonly buffer Total { float total; };
void main() { kiln_scale_update(total); }
