#version 450
// SGD with momentum, as torch.optim.SGD: d = g + WEIGHT_DECAY w;  buf = d on the first step (step counter 0),
// else MOMENTUM buf + (1 - DAMPENING) d;  d = NESTEROV ? d + MOMENTUM buf : buf;  w -= lr d.
// Bindings: 0 step state, 1 g, 2 w, 3 buf.  Specialization: 0 L1, 1 L2, 2 MOMENTUM, 3 DAMPENING, 4 WEIGHT_DECAY,
// 5 NESTEROV (0 or 1).  Push: count.  Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
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
layout(std430, binding = 2) buffer Wt { float w[]; };
layout(std430, binding = 3) buffer Buf { float buf[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count || kiln_update_skipped()) return;
    float wi = w[i];
    float d = kiln_update_gradient(g[i], wi) + WEIGHT_DECAY * wi;
    float b = state.step == 0u ? d : MOMENTUM * buf[i] + (1.0 - DAMPENING) * d;
    buf[i] = b;
    d = NESTEROV != 0u ? d + MOMENTUM * b : b;
    w[i] = wi - state.learningRate * d;
}
