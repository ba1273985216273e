#version 450
// Gradient of the masked losses (masked.fwd): grad[i] = SIGN * dloss[0] * m * d(err)/dp / den[0], with
// d(err)/dp = 2 (p - t) (KIND 0, mse) or sign(p - t), 0 at equality (KIND 1, l1); SIGN 1 for the prediction,
// -1 for the target. den comes from masked.den. Mask indexing as in masked.fwd. Through the derivative of an activation
// that made the input (include/loss_act.glsl: ACT, SLOPE).
// Bindings: 0 prediction, 1 target, 2 mask (act_t), 3 den [1], 4 dloss [1] (float), 5 grad (act_t).
// Specialization: 0 KIND, 1 BROADCAST, 2 SIGN (float), 3 ACT, 4 SLOPE.  Push: count, channels, inner.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const int KIND = 0;
layout(constant_id = 1) const int BROADCAST = 0;
layout(constant_id = 2) const float SIGN = 1.0;
#define LOSS_ACT_ID 3
#include "loss_act.glsl"
layout(std430, binding = 0) readonly buffer Pr { act_t pred[]; };
layout(std430, binding = 1) readonly buffer Tg { act_t target[]; };
layout(std430, binding = 2) readonly buffer M { act_t mask[]; };
layout(std430, binding = 3) readonly buffer D { float den[]; };
layout(std430, binding = 4) readonly buffer DL { float dloss[]; };
layout(std430, binding = 5) writeonly buffer G { act_t grad[]; };
layout(push_constant) uniform P { uint count, channels, inner; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    uint mi = BROADCAST != 0 ? (i / (p.channels * p.inner)) * p.inner + i % p.inner : i;
    float pi = float(pred[i]), ti = float(target[i]);
    float d = pi - ti;
    float de = KIND == 0 ? 2.0 * d : sign(d);
    grad[i] = act_t(kiln_loss_act(SIGN * dloss[0] * float(mask[mi]) * de / den[0], SIGN > 0.0 ? pi : ti));
}
