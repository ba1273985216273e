#version 450
// loss = mean(max(x, 0) - x t + log(1 + exp(-|x|))) over all count elements: binary cross-entropy of logits x against
// targets t (PyTorch's BCEWithLogitsLoss, mean reduction, its numerically stable form). log(1 + e) is computed
// accurately for small e. One workgroup of 256 strides over all elements.
// Bindings: 0 logits, 1 target, 2 loss [1].  Specialization: none.  Push: count.  Dispatch: 1x1x1, local x = 256.
#include "kiln.glsl"
#define REDUCE_SIZE 256
#include "reduce.glsl"
layout(std430, binding = 0) readonly buffer X { float logits[]; };
layout(std430, binding = 1) readonly buffer Tg { float target[]; };
layout(std430, binding = 2) writeonly buffer L { float loss[]; };
layout(push_constant) uniform P { uint count; } p;
// log(1 + e) for e >= 0 without losing small e (Goldberg's log1p).
float log1p_small(float e)
{
    float u = 1.0 + e;
    return u == 1.0 ? e : log(u) * (e / (u - 1.0));
}
void main()
{
    float s = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.count; i += REDUCE_SIZE)
    {
        float x = logits[i];
        s += max(x, 0.0) - x * target[i] + log1p_small(exp(-abs(x)));
    }
    float total = kiln_workgroup_sum(s);
    if (gl_LocalInvocationID.x == 0) loss[0] = total / float(p.count);
}
