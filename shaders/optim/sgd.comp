#version 450
// SGD without momentum, as torch.optim.SGD: d = g + WEIGHT_DECAY w;  w -= lr d  (g from kiln_update_gradient,
// lr from the step-state buffer).
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Bindings: 0 step state, 1 g, 2 w.  Specialization: 0 L1, 1 L2, 2 WEIGHT_DECAY.  Push: count.
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
#include "optim.glsl"
layout(constant_id = 2) const float WEIGHT_DECAY = 0.0;
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 1) readonly buffer G4 { vec4 g4[]; };
layout(std430, binding = 2) buffer Wt { float w[]; };
layout(std430, binding = 2) buffer Wt4 { vec4 w4[]; };
layout(push_constant) uniform P { uint count; } p;
float sgd(float wi, float gi)
{
    float d = kiln_update_gradient(gi, wi) + WEIGHT_DECAY * wi;
    return wi - state.learningRate * d;
}
void main()
{
    uint i = kiln_element_index();
    if (kiln_update_skipped()) return;
    if (kiln_vector_whole(i, p.count))
    {
        vec4 wv = w4[i], gv = g4[i];
        w4[i] = vec4(sgd(wv.x, gv.x), sgd(wv.y, gv.y), sgd(wv.z, gv.z), sgd(wv.w, gv.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) w[k] = sgd(w[k], g[k]);
}
