#version 450
// GELU, exact (erf) form as torch.nn.GELU(): y = x * Phi(x), Phi the standard normal CDF (gelu.glsl).
// Bindings: 0 x, 1 y (act_t).  Specialization: none.  Push: count.
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
#include "gelu.glsl"
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 1) writeonly buffer Y4 { act4_t y4[]; };
layout(push_constant) uniform P { uint count; } p;
float gelu(float v) { return v * gelu_cdf(v); }
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        vec4 v = vec4(x4[i]);
        y4[i] = act4_t(gelu(v.x), gelu(v.y), gelu(v.z), gelu(v.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) y[k] = act_t(gelu(float(x[k])));
}
