#version 450
// Masked mean loss: loss = sum(m * err) / max(sum(expanded m), 1), err = (p - t)^2 (KIND 0) or |p - t| (KIND 1).
// The mask is either the prediction's shape (BROADCAST 0) or [N,1,...] broadcast over the channels (BROADCAST 1):
// element i reads mask[(i / (channels * inner)) * inner + i % inner]; the expanded mask sums to channels * sum(mask).
// One workgroup of 256 strides over all elements (two workgroup sums: numerator, then the mask).
// Bindings: 0 prediction, 1 target, 2 mask, 3 loss [1].
// Specialization: 0 KIND (0 mse, 1 l1), 1 BROADCAST (0/1).
// Push: count (prediction elements), mask_count, channels, inner (elements per channel of one item).
// Dispatch: 1x1x1, local x = 256.
#include "kiln.glsl"
#define REDUCE_SIZE 256
#include "reduce.glsl"
layout(constant_id = 0) const int KIND = 0;
layout(constant_id = 1) const int BROADCAST = 0;
layout(std430, binding = 0) readonly buffer Pr { float pred[]; };
layout(std430, binding = 1) readonly buffer Tg { float target[]; };
layout(std430, binding = 2) readonly buffer M { float mask[]; };
layout(std430, binding = 3) writeonly buffer L { float loss[]; };
layout(push_constant) uniform P { uint count, mask_count, channels, inner; } p;
void main()
{
    float s = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.count; i += REDUCE_SIZE)
    {
        uint mi = BROADCAST != 0 ? (i / (p.channels * p.inner)) * p.inner + i % p.inner : i;
        float d = pred[i] - target[i];
        s += mask[mi] * (KIND == 0 ? d * d : abs(d));
    }
    float num = kiln_workgroup_sum(s);
    barrier(); // every invocation has read the first sum before the scratch is reused
    float m = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.mask_count; i += REDUCE_SIZE) m += mask[i];
    float den = kiln_workgroup_sum(m) * float(BROADCAST != 0 ? p.channels : 1u);
    if (gl_LocalInvocationID.x == 0) loss[0] = num / max(den, 1.0);
}
