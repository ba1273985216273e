#version 450
// Gradient of loss = mean((p - t)^2): grad[i] = SIGN * dloss[0] * 2 (p - t) / count
// (SIGN = 1 for the prediction, -1 for the target).
// Through the derivative of an activation that made the input (include/loss_act.glsl: ACT, SLOPE).
// Bindings: 0 prediction, 1 target (act_t), 2 dloss [1] (float), 3 grad (act_t).  Specialization: 0 SIGN (float), 1 ACT,
// 2 SLOPE.  Push: count.
// The buffers and main: include/loss_pair_bwd.glsl (four elements an invocation).
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
#include "loss_pair_bwd.glsl"
layout(constant_id = 0) const float SIGN = 1.0;
#define LOSS_ACT_ID 1
#include "loss_act.glsl"
float element(float pi, float ti)
{
    return kiln_loss_act(SIGN * dloss[0] / float(p.count) * 2.0 * (pi - ti), SIGN > 0.0 ? pi : ti);
}
