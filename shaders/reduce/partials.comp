#version 450
// Second pass of a split reduction: y[i] = act(sum over s in 0..SPLITS-1, in that order, of partial[s * COUNT + i]
// + bias[i % COLS]). Deterministic (a fixed order, no atomics); one invocation per output, consecutive lanes read
// consecutive floats.
// Bindings: 0 partial [SPLITS, COUNT]  1 bias [COLS] (unused when HAS_BIAS=0)  2 y [COUNT]
// Specialization: 0 SPLITS, 1 COUNT, 2 HAS_BIAS, 3 COLS, 4 ACT (activation code), 5 SLOPE (float)
// Dispatch: ceil(COUNT / 64) workgroups spread over x and y like Emitter.ElementwiseGroups, local x = 64
#include "kiln.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const int SPLITS = 1;
layout(constant_id = 1) const int COUNT = 1;
layout(constant_id = 2) const int HAS_BIAS = 0;
layout(constant_id = 3) const int COLS = 1;
layout(constant_id = 4) const int ACT = 0;
layout(constant_id = 5) const float SLOPE = 0.01;

layout(std430, binding = 0) readonly buffer Part { float partial[]; };
layout(std430, binding = 1) readonly buffer Bias { float bias[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

void main()
{
    const int i = int(kiln_element_index());
    if (i >= COUNT) return;
    float s = 0.0;
    for (int k = 0; k < SPLITS; k++) s += partial[k * COUNT + i];
    y[i] = kiln_activate(s + (HAS_BIAS != 0 ? bias[i % COLS] : 0.0), ACT, SLOPE);
}
