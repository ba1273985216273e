#version 450
// Gradient of loss = mean(huber(p - t)): grad[i] = SIGN * dloss[0] * clamp(p - t, -DELTA, DELTA) / count
// (d where |d| < DELTA, else DELTA sign(d); the two agree at |d| = DELTA). SIGN = 1 for the prediction, -1 for the target.
// Through the derivative of an activation that made the input (include/loss_act.glsl: ACT, SLOPE).
// Bindings: 0 prediction, 1 target (act_t), 2 dloss [1] (float), 3 grad (act_t).  Specialization: 0 DELTA (float), 1 SIGN
// (float), 2 ACT, 3 SLOPE.  Push: count.
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const float DELTA = 1.0;
layout(constant_id = 1) const float SIGN = 1.0;
#define LOSS_ACT_ID 2
#include "loss_act.glsl"
layout(std430, binding = 0) readonly buffer Pr { act_t pred[]; };
layout(std430, binding = 0) readonly buffer Pr4 { act4_t pred4[]; };
layout(std430, binding = 1) readonly buffer Tg { act_t target[]; };
layout(std430, binding = 1) readonly buffer Tg4 { act4_t target4[]; };
layout(std430, binding = 2) readonly buffer DL { float dloss[]; };
layout(std430, binding = 3) writeonly buffer G { act_t grad[]; };
layout(std430, binding = 3) writeonly buffer G4 { act4_t grad4[]; };
layout(push_constant) uniform P { uint count; } p;
float element(float pi, float ti) { return kiln_loss_act(SIGN * dloss[0] / float(p.count) * clamp(pi - ti, -DELTA, DELTA), SIGN > 0.0 ? pi : ti); }
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        const vec4 pv = vec4(pred4[i]), tv = vec4(target4[i]);
        grad4[i] = act4_t(element(pv.x, tv.x), element(pv.y, tv.y), element(pv.z, tv.z), element(pv.w, tv.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) grad[k] = act_t(element(float(pred[k]), float(target[k])));
}
