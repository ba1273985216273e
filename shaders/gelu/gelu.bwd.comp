#version 450
// GELU backward from the input: dx = dy * (Phi(x) + x * phi(x)), phi the standard normal density (gelu.glsl).
// Bindings: 0 x, 1 dy, 2 dx (act_t).  Specialization: none.  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
#include "gelu.glsl"
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 2) writeonly buffer DX { act_t dx[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    float v = float(x[i]);
    dx[i] = act_t(float(dy[i]) * (gelu_cdf(v) + v * gelu_pdf(v)));
}
