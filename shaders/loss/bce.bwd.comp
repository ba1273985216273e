#version 450
// Gradients of loss = mean(max(x, 0) - x t + log(1 + exp(-|x|))):
//   WHICH = 0 (logits): grad[i] = dloss[0] (sigmoid(x) - t) / count, sigmoid evaluated without overflow;
//   WHICH = 1 (target): grad[i] = -dloss[0] x / count.
// Bindings: 0 logits, 1 target (act_t), 2 dloss [1] (float), 3 grad (act_t).  Specialization: 0 WHICH (uint).  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const uint WHICH = 0;
layout(std430, binding = 0) readonly buffer X { act_t logits[]; };
layout(std430, binding = 1) readonly buffer Tg { act_t target[]; };
layout(std430, binding = 2) readonly buffer DL { float dloss[]; };
layout(std430, binding = 3) writeonly buffer G { act_t grad[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    float x = float(logits[i]);
    float scale = dloss[0] / float(p.count);
    if (WHICH == 0)
    {
        float e = exp(-abs(x));
        float s = x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        grad[i] = act_t(scale * (s - float(target[i])));
    }
    else grad[i] = act_t(-scale * x);
}
