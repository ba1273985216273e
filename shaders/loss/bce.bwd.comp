#version 450
// Gradients of loss = mean(max(x, 0) - x t + log(1 + exp(-|x|))):
//   WHICH = 0 (logits): grad[i] = dloss[0] (sigmoid(x) - t) / count, sigmoid evaluated without overflow;
//   WHICH = 1 (target): grad[i] = -dloss[0] x / count.
// Bindings: 0 logits, 1 target (act_t), 2 dloss [1] (float), 3 grad (act_t).  Specialization: 0 WHICH (uint).  Push: count.
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const uint WHICH = 0;
layout(std430, binding = 0) readonly buffer X { act_t logits[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t logits4[]; };
layout(std430, binding = 1) readonly buffer Tg { act_t target[]; };
layout(std430, binding = 1) readonly buffer Tg4 { act4_t target4[]; };
layout(std430, binding = 2) readonly buffer DL { float dloss[]; };
layout(std430, binding = 3) writeonly buffer G { act_t grad[]; };
layout(std430, binding = 3) writeonly buffer G4 { act4_t grad4[]; };
layout(push_constant) uniform P { uint count; } p;
float element(float x, float t)
{
    float scale = dloss[0] / float(p.count);
    if (WHICH != 0) return -scale * x;
    float e = exp(-abs(x));
    float s = x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    return scale * (s - t);
}
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        const vec4 xv = vec4(logits4[i]), tv = vec4(target4[i]);
        grad4[i] = act4_t(element(xv.x, tv.x), element(xv.y, tv.y), element(xv.z, tv.z), element(xv.w, tv.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) grad[k] = act_t(element(float(logits[k]), float(target[k])));
}
