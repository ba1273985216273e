#version 450
// The log transfer of linear HDR values: y = log(1 + max(x, 0)) elementwise (the denoiser's training target).
// Bindings: 0 x, 1 y (written).  Specialization: none.  Push: count.  Dispatch: ceil(count / 64) groups of 64.
#include "kiln.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint count; } p;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i < p.count) y[i] = log(1.0 + max(x[i], 0.0));
}
