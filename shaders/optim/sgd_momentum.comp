#version 450
// SGD with momentum, as torch.optim.SGD: d = g + WEIGHT_DECAY w;  buf = d on the first step (step counter 0),
// else MOMENTUM buf + (1 - DAMPENING) d;  d = NESTEROV ? d + MOMENTUM buf : buf;  w -= lr d.
// Bindings: 0 step state, 1 g, 2 w, 3 buf.  Specialization: 0 L1, 1 L2, 2 MOMENTUM, 3 DAMPENING, 4 WEIGHT_DECAY,
// 5 NESTEROV (0 or 1).  Push: count.  Four elements per invocation (include/elementwise.glsl's vector kernels).
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
#include "optim.glsl"
layout(constant_id = 2) const float MOMENTUM = 0.9;
layout(constant_id = 3) const float DAMPENING = 0.0;
layout(constant_id = 4) const float WEIGHT_DECAY = 0.0;
layout(constant_id = 5) const uint NESTEROV = 0;
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 1) readonly buffer G4 { vec4 g4[]; };
layout(std430, binding = 2) buffer Wt { float w[]; };
layout(std430, binding = 2) buffer Wt4 { vec4 w4[]; };
layout(std430, binding = 3) buffer Buf { float buf[]; };
layout(std430, binding = 3) buffer Buf4 { vec4 buf4[]; };
layout(push_constant) uniform P { uint count; } p;
// One element: w and its momentum buffer b in place.
void sgd_momentum(inout float wi, float gi, inout float b)
{
    float d = kiln_update_gradient(gi, wi) + WEIGHT_DECAY * wi;
    b = state.step == 0u ? d : MOMENTUM * b + (1.0 - DAMPENING) * d;
    d = NESTEROV != 0u ? d + MOMENTUM * b : b;
    wi = wi - state.learningRate * d;
}
void main()
{
    uint i = kiln_element_index();
    if (kiln_update_skipped()) return;
    if (kiln_vector_whole(i, p.count))
    {
        vec4 wv = w4[i], gv = g4[i], bv = buf4[i];
        for (int l = 0; l < 4; l++) sgd_momentum(wv[l], gv[l], bv[l]);
        buf4[i] = bv;
        w4[i] = wv;
        return;
    }
    for (uint k = 4u * i; k < p.count; k++)
    {
        float wk = w[k], bk = buf[k];
        sgd_momentum(wk, g[k], bk);
        buf[k] = bk;
        w[k] = wk;
    }
}
