#version 450
// Second pass of a split reduction: y[i] = sum over s in 0..SPLITS-1, in that order, of partial[s * COUNT + i].
// Deterministic (a fixed order, no atomics); one invocation per output, consecutive lanes read consecutive floats.
// Bindings: 0 partial [SPLITS, COUNT]  1 y [COUNT]
// Specialization: 0 SPLITS, 1 COUNT
// Dispatch: Emitter.ElementwiseGroups(COUNT) with local x = 64
#include "kiln.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const int SPLITS = 1;
layout(constant_id = 1) const int COUNT = 1;

layout(std430, binding = 0) readonly buffer Part { float partial[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

void main()
{
    const int i = int(kiln_element_index());
    if (i >= COUNT) return;
    float s = 0.0;
    for (int k = 0; k < SPLITS; k++) s += partial[k * COUNT + i];
    y[i] = s;
}
