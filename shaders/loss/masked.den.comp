#version 450
// Denominator of the masked losses for their backward: den = max(scale * sum(mask), 1), scale = the number of
// channels the mask is broadcast over (1 when it has the prediction's shape). Same order of summation as masked.fwd.
// Bindings: 0 mask, 1 den [1].  Specialization: none.  Push: mask_count, scale.  Dispatch: 1x1x1, local x = 256.
#include "kiln.glsl"
#define REDUCE_SIZE 256
#include "reduce.glsl"
layout(std430, binding = 0) readonly buffer M { float mask[]; };
layout(std430, binding = 1) writeonly buffer D { float den[]; };
layout(push_constant) uniform P { uint mask_count, scale; } p;
void main()
{
    float m = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.mask_count; i += REDUCE_SIZE) m += mask[i];
    float total = kiln_workgroup_sum(m) * float(p.scale);
    if (gl_LocalInvocationID.x == 0) den[0] = max(total, 1.0);
}
