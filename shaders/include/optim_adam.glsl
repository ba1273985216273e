// Body of optim/adam.comp and optim/adam_amsgrad.comp (KILN_AMSGRAD), as torch.optim.Adam / AdamW (PyTorch 1.13's
// single-tensor path). With t = step counter + 1, lr from the step-state buffer:
//   DECOUPLED (AdamW): w *= 1 - lr WEIGHT_DECAY;  else (Adam, L2): g += WEIGHT_DECAY w
//   m = B1 m + (1 - B1) g;  v = B2 v + (1 - B2) g^2;  (amsgrad: vmax = max(vmax, v), used in place of v)
//   w -= (lr / (1 - B1^t)) m / (sqrt(v) / sqrt(1 - B2^t) + EPSILON)
// Bindings: 0 step state, 1 g, 2 w, 3 m, 4 v, (amsgrad) 5 vmax.
// Specialization: 0 L1, 1 L2, 2 BETA1, 3 BETA2, 4 EPSILON, 5 WEIGHT_DECAY, 6 DECOUPLED (0 or 1).  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
#include "optim.glsl"
layout(constant_id = 2) const float BETA1 = 0.9;
layout(constant_id = 3) const float BETA2 = 0.999;
layout(constant_id = 4) const float EPSILON = 1e-8;
layout(constant_id = 5) const float WEIGHT_DECAY = 0.0;
layout(constant_id = 6) const uint DECOUPLED = 0;
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer Wt { float w[]; };
layout(std430, binding = 3) buffer M { float m[]; };
layout(std430, binding = 4) buffer V { float v[]; };
#ifdef KILN_AMSGRAD
layout(std430, binding = 5) buffer VMax { float vmax[]; };
#endif
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    float lr = state.learningRate;
    float t = float(state.step + 1u);
    float wi = w[i];
    float gi = kiln_update_gradient(g[i], wi);
    if (DECOUPLED != 0u) wi *= 1.0 - lr * WEIGHT_DECAY;
    else gi += WEIGHT_DECAY * wi;
    float mi = m[i] * BETA1 + gi * (1.0 - BETA1);
    float vi = v[i] * BETA2 + gi * gi * (1.0 - BETA2);
    m[i] = mi;
    v[i] = vi;
#ifdef KILN_AMSGRAD
    vi = max(vmax[i], vi);
    vmax[i] = vi;
#endif
    float stepSize = lr / (1.0 - pow(BETA1, t));
    float denom = sqrt(vi) / sqrt(1.0 - pow(BETA2, t)) + EPSILON;
    w[i] = wi - stepSize * mi / denom;
}
