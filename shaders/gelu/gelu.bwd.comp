#version 450
// GELU backward from the input: dx = dy * (Phi(x) + x * phi(x)), phi the standard normal density (gelu.glsl).
// Bindings: 0 x, 1 dy, 2 dx.  Specialization: none.  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "gelu.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) writeonly buffer DX { float dx[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    float v = x[i];
    dx[i] = dy[i] * (gelu_cdf(v) + v * gelu_pdf(v));
}
