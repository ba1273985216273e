#version 450
// Gradient of loss = mean(huber(p - t)): grad[i] = SIGN * dloss[0] * clamp(p - t, -DELTA, DELTA) / count
// (d where |d| < DELTA, else DELTA sign(d); the two agree at |d| = DELTA). SIGN = 1 for the prediction, -1 for the target.
// Through the derivative of an activation that made the input (include/loss_act.glsl: ACT, SLOPE).
// Bindings: 0 prediction, 1 target (act_t), 2 dloss [1] (float), 3 grad (act_t).  Specialization: 0 DELTA (float), 1 SIGN
// (float), 2 ACT, 3 SLOPE.  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const float DELTA = 1.0;
layout(constant_id = 1) const float SIGN = 1.0;
#define LOSS_ACT_ID 2
#include "loss_act.glsl"
layout(std430, binding = 0) readonly buffer Pr { act_t pred[]; };
layout(std430, binding = 1) readonly buffer Tg { act_t target[]; };
layout(std430, binding = 2) readonly buffer DL { float dloss[]; };
layout(std430, binding = 3) writeonly buffer G { act_t grad[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    float pi = float(pred[i]), ti = float(target[i]);
    grad[i] = act_t(kiln_loss_act(SIGN * dloss[0] / float(p.count) * clamp(pi - ti, -DELTA, DELTA), SIGN > 0.0 ? pi : ti));
}
