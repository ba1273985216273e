#version 450
// SGD without momentum, as torch.optim.SGD: d = g + WEIGHT_DECAY w;  w -= lr d  (g from kiln_update_gradient,
// lr from the step-state buffer).
// Bindings: 0 step state, 1 g, 2 w.  Specialization: 0 L1, 1 L2, 2 WEIGHT_DECAY.  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
#include "optim.glsl"
layout(constant_id = 2) const float WEIGHT_DECAY = 0.0;
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer Wt { float w[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count || kiln_update_skipped()) return;
    float wi = w[i];
    float d = kiln_update_gradient(g[i], wi) + WEIGHT_DECAY * wi;
    w[i] = wi - state.learningRate * d;
}
