#version 450
// Gradients of loss = mean(max(x, 0) - x t + log(1 + exp(-|x|))):
//   WHICH = 0 (logits): grad[i] = dloss[0] (sigmoid(x) - t) / count, sigmoid evaluated without overflow;
//   WHICH = 1 (target): grad[i] = -dloss[0] x / count.
// Bindings: 0 logits, 1 target (act_t), 2 dloss [1] (float), 3 grad (act_t).  Specialization: 0 WHICH (uint).  Push: count.
// The buffers and main: include/loss_pair_bwd.glsl (four elements an invocation).
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
#include "loss_pair_bwd.glsl"
layout(constant_id = 0) const uint WHICH = 0;
float element(float x, float t)
{
    float scale = dloss[0] / float(p.count);
    if (WHICH != 0) return -scale * x;
    float e = exp(-abs(x));
    float s = x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    return scale * (s - t);
}
