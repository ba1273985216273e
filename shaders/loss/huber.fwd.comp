#version 450
// loss = mean(huber(p - t)) over all count elements, huber(d) = 0.5 d^2 where |d| < DELTA, else DELTA (|d| - 0.5 DELTA)
// (PyTorch's HuberLoss, mean reduction): one workgroup of 256 strides over all elements.
// Bindings: 0 prediction, 1 target, 2 loss [1].  Specialization: 0 DELTA (float, > 0).  Push: count.
// Dispatch: 1x1x1, local x = 256.
#include "kiln.glsl"
#define REDUCE_SIZE 256
#include "reduce.glsl"
layout(constant_id = 0) const float DELTA = 1.0;
layout(std430, binding = 0) readonly buffer Pr { float pred[]; };
layout(std430, binding = 1) readonly buffer Tg { float target[]; };
layout(std430, binding = 2) writeonly buffer L { float loss[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    float s = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.count; i += REDUCE_SIZE)
    {
        float d = pred[i] - target[i];
        float a = abs(d);
        s += a < DELTA ? 0.5 * d * d : DELTA * (a - 0.5 * DELTA);
    }
    float total = kiln_workgroup_sum(s);
    if (gl_LocalInvocationID.x == 0) loss[0] = total / float(p.count);
}
