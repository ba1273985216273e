// Body of optim/adam.comp and optim/adam_amsgrad.comp (KILN_AMSGRAD), as torch.optim.Adam / AdamW (PyTorch 1.13's
// single-tensor path). With t = step counter + 1, lr from the step-state buffer:
//   DECOUPLED (AdamW): w *= 1 - lr WEIGHT_DECAY;  else (Adam, L2): g += WEIGHT_DECAY w
//   m = B1 m + (1 - B1) g;  v = B2 v + (1 - B2) g^2;  (amsgrad: vmax = max(vmax, v), used in place of v)
//   w -= (lr / (1 - B1^t)) m / (sqrt(v) / sqrt(1 - B2^t) + EPSILON)
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Bindings: 0 step state, 1 g, 2 w, 3 m, 4 v, (amsgrad) 5 vmax.
// Specialization: 0 L1, 1 L2, 2 BETA1, 3 BETA2, 4 EPSILON, 5 WEIGHT_DECAY, 6 DECOUPLED (0 or 1), then from the host's
// doubles (so f32 rounding of 0.999 does not shift 1 - 0.999^t by 1e-5): 7 ONE_MINUS_BETA1, 8 ONE_MINUS_BETA2,
// 9 LOG_BETA1, 10 LOG_BETA2; the bias corrections are -expm1(t log beta).  Push: count.
// Dispatch: Emitter.VectorGroups(count), local x = 256.
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
layout(constant_id = 7) const float ONE_MINUS_BETA1 = 0.1;
layout(constant_id = 8) const float ONE_MINUS_BETA2 = 0.001;
layout(constant_id = 9) const float LOG_BETA1 = -0.10536052;
layout(constant_id = 10) const float LOG_BETA2 = -0.0010005003;
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 1) readonly buffer G4 { vec4 g4[]; };
layout(std430, binding = 2) buffer Wt { float w[]; };
layout(std430, binding = 2) buffer Wt4 { vec4 w4[]; };
layout(std430, binding = 3) buffer M { float m[]; };
layout(std430, binding = 3) buffer M4 { vec4 m4[]; };
layout(std430, binding = 4) buffer V { float v[]; };
layout(std430, binding = 4) buffer V4 { vec4 v4[]; };
#ifdef KILN_AMSGRAD
layout(std430, binding = 5) buffer VMax { float vmax[]; };
layout(std430, binding = 5) buffer VMax4 { vec4 vmax4[]; };
#endif
layout(push_constant) uniform P { uint count; } p;
// 1 - beta^t without the cancellation of 1 - exp(z) for small |z|: a Taylor series of -expm1(z) there.
float bias_correction(float logBeta, float t)
{
    float z = logBeta * t;
    if (abs(z) > 0.5) return 1.0 - exp(z);
    float s = 1.0 / 362880.0;
    s = s * z + 1.0 / 40320.0; s = s * z + 1.0 / 5040.0; s = s * z + 1.0 / 720.0; s = s * z + 1.0 / 120.0;
    s = s * z + 1.0 / 24.0; s = s * z + 1.0 / 6.0; s = s * z + 0.5; s = s * z + 1.0;
    return -z * s;
}
// One element: w, m, v and vmax (amsgrad only) in place; stepSize = lr / (1 - BETA1^t), root2 = sqrt(1 - BETA2^t).
void adam(inout float wi, float gi, inout float mi, inout float vi, inout float vmaxi, float lr, float stepSize, float root2)
{
    gi = kiln_update_gradient(gi, wi);
    if (DECOUPLED != 0u) wi *= 1.0 - lr * WEIGHT_DECAY;
    else gi += WEIGHT_DECAY * wi;
    mi = mi * BETA1 + gi * ONE_MINUS_BETA1;
    vi = vi * BETA2 + gi * gi * ONE_MINUS_BETA2;
    float vUsed = vi;
#ifdef KILN_AMSGRAD
    vmaxi = max(vmaxi, vi);
    vUsed = vmaxi;
#endif
    float denom = sqrt(vUsed) / root2 + EPSILON;
    wi = wi - stepSize * mi / denom;
}
void main()
{
    uint i = kiln_element_index();
    if (kiln_update_skipped()) return;
    float lr = state.learningRate;
    float t = float(state.step + 1u);
    float stepSize = lr / bias_correction(LOG_BETA1, t);
    float root2 = sqrt(bias_correction(LOG_BETA2, t));
    if (kiln_vector_whole(i, p.count))
    {
        vec4 wv = w4[i], gv = g4[i], mv = m4[i], vv = v4[i];
#ifdef KILN_AMSGRAD
        vec4 xv = vmax4[i];
#else
        vec4 xv = vec4(0.0);
#endif
        for (int l = 0; l < 4; l++) adam(wv[l], gv[l], mv[l], vv[l], xv[l], lr, stepSize, root2);
        m4[i] = mv;
        v4[i] = vv;
#ifdef KILN_AMSGRAD
        vmax4[i] = xv;
#endif
        w4[i] = wv;
        return;
    }
    for (uint k = 4u * i; k < p.count; k++)
    {
        float wk = w[k], mk = m[k], vk = v[k], xk = 0.0;
#ifdef KILN_AMSGRAD
        xk = vmax[k];
#endif
        adam(wk, g[k], mk, vk, xk, lr, stepSize, root2);
        m[k] = mk;
        v[k] = vk;
#ifdef KILN_AMSGRAD
        vmax[k] = xk;
#endif
        w[k] = wk;
    }
}
