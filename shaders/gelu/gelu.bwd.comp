#version 450
// GELU backward from the input: dx = dy * (Phi(x) + x * phi(x)), phi the standard normal density (gelu.glsl).
// Bindings: 0 x, 1 dy, 2 dx (act_t).  Specialization: none.  Push: count.
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
#include "gelu.glsl"
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 1) readonly buffer DY4 { act4_t dy4[]; };
layout(std430, binding = 2) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 2) writeonly buffer DX4 { act4_t dx4[]; };
layout(push_constant) uniform P { uint count; } p;
float gradient(float v, float g) { return g * (gelu_cdf(v) + v * gelu_pdf(v)); }
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        vec4 v = vec4(x4[i]), g = vec4(dy4[i]);
        dx4[i] = act4_t(gradient(v.x, g.x), gradient(v.y, g.y), gradient(v.z, g.z), gradient(v.w, g.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) dx[k] = act_t(gradient(float(x[k]), float(dy[k])));
}
