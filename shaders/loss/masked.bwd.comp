#version 450
// Gradient of the masked losses (masked.fwd): grad[i] = SIGN * dloss[0] * m * d(err)/dp / den[0], with
// d(err)/dp = 2 (p - t) (KIND 0, mse) or sign(p - t), 0 at equality (KIND 1, l1); SIGN 1 for the prediction,
// -1 for the target. den comes from masked.den. Mask indexing: shaders/loss/masked.glsl. Through the derivative of an activation
// that made the input (include/loss_act.glsl: ACT, SLOPE).
// Four elements an invocation through 4-wide views of the bindings (include/elementwise.glsl's vector kernels), the tail
// one at a time; a broadcast mask is read 4-wide where a row of it (inner) is a multiple of 4, else an element at a time.
// Bindings: 0 prediction, 1 target, 2 mask (act_t), 3 den [1], 4 dloss [1] (float), 5 grad (act_t).
// Specialization: 0 KIND, 1 BROADCAST, 2 SIGN (float), 3 ACT, 4 SLOPE.  Push: count, channels, inner.
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const int KIND = 0;
layout(constant_id = 1) const int BROADCAST = 0;
layout(constant_id = 2) const float SIGN = 1.0;
#define LOSS_ACT_ID 3
#include "loss_act.glsl"
layout(std430, binding = 0) readonly buffer Pr { act_t pred[]; };
layout(std430, binding = 0) readonly buffer Pr4 { act4_t pred4[]; };
layout(std430, binding = 1) readonly buffer Tg { act_t target[]; };
layout(std430, binding = 1) readonly buffer Tg4 { act4_t target4[]; };
#define MASK_BINDING 2
#include "masked.glsl"
layout(std430, binding = 3) readonly buffer D { float den[]; };
layout(std430, binding = 4) readonly buffer DL { float dloss[]; };
layout(std430, binding = 5) writeonly buffer G { act_t grad[]; };
layout(std430, binding = 5) writeonly buffer G4 { act4_t grad4[]; };
layout(push_constant) uniform P { uint count, channels, inner; } p;

uint maskIndex(uint i) { return kiln_mask_index(i, BROADCAST != 0, p.channels, p.inner); }

float element(float pi, float ti, float m)
{
    float d = pi - ti;
    float de = KIND == 0 ? 2.0 * d : sign(d);
    return kiln_loss_act(SIGN * dloss[0] * m * de / den[0], SIGN > 0.0 ? pi : ti);
}

void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        const vec4 pv = vec4(pred4[i]), tv = vec4(target4[i]);
        vec4 mv;
        if (BROADCAST == 0) mv = vec4(mask4[i]);
        else if (p.inner % 4u == 0u) mv = vec4(mask4[maskIndex(4u * i) / 4u]); // the four in one row of the mask
        else mv = vec4(float(mask[maskIndex(4u * i)]), float(mask[maskIndex(4u * i + 1u)]),
                       float(mask[maskIndex(4u * i + 2u)]), float(mask[maskIndex(4u * i + 3u)]));
        grad4[i] = act4_t(element(pv.x, tv.x, mv.x), element(pv.y, tv.y, mv.y), element(pv.z, tv.z, mv.z), element(pv.w, tv.w, mv.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) grad[k] = act_t(element(float(pred[k]), float(target[k]), float(mask[maskIndex(k)])));
}
