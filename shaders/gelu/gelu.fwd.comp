#version 450
// GELU, exact (erf) form as torch.nn.GELU(): y = x * Phi(x), Phi the standard normal CDF (gelu.glsl).
// Bindings: 0 x, 1 y (act_t).  Specialization: none.  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
#include "gelu.glsl"
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i < p.count) { float v = float(x[i]); y[i] = act_t(v * gelu_cdf(v)); }
}
