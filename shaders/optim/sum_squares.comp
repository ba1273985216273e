#version 450
// Sum of squares of one gradient, for global-norm clipping: one workgroup; invocation i adds elements i, i + 256,
// ... in order, then a fixed tree in shared memory (no atomics: the same input gives the same bits every run).
// Bindings: 0 g, 1 out (one float).  Push: count.  Dispatch: 1x1x1, local x = 256.
#include "kiln.glsl"
#include "reduce.glsl"
layout(std430, binding = 0) readonly buffer G { float g[]; };
layout(std430, binding = 1) writeonly buffer Out { float total; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    float s = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.count; i += REDUCE_SIZE) s += g[i] * g[i];
    s = kiln_workgroup_sum(s);
    if (gl_LocalInvocationID.x == 0u) total = s;
}
