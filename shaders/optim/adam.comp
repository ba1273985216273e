#version 450
// Adam, as torch.optim.Adam (no weight decay, no amsgrad): with t = steps done + 1 from the step-state buffer,
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
// Bindings: 0 step state, 1 g, 2 m, 3 v, 4 w.  Specialization: 0 BETA1, 1 BETA2, 2 EPSILON.  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "state.glsl"
layout(constant_id = 0) const float BETA1 = 0.9;
layout(constant_id = 1) const float BETA2 = 0.999;
layout(constant_id = 2) const float EPSILON = 1e-8;
DECLARE_STEP_STATE(0)
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer M { float m[]; };
layout(std430, binding = 3) buffer V { float v[]; };
layout(std430, binding = 4) buffer Wt { float w[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    float t = float(state.step + 1u);
    float gi = g[i];
    float mi = BETA1 * m[i] + (1.0 - BETA1) * gi;
    float vi = BETA2 * v[i] + (1.0 - BETA2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float mhat = mi / (1.0 - pow(BETA1, t));
    float vhat = vi / (1.0 - pow(BETA2, t));
    w[i] -= state.learningRate * mhat / (sqrt(vhat) + EPSILON);
}
