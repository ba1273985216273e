#version 450
// Softmax gradient from its output: dx = y * (dy - sum_c(dy * y)), the sum along the axis, the input seen as [N, C, inner].
// One invocation per (n, pixel) looping over the C channels.
// Bindings: 0 y (act_t)  1 dy (act_t)  2 dx (act_t, same shape)
// Specialization: 0 C, 1 INNER (0 = from push constants)
// Push constants: rows (N * inner), channels, inner
// Dispatch: Emitter.ElementwiseGroups(rows), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int S_C = 0;
layout(constant_id = 1) const int S_INNER = 0;

layout(std430, binding = 0) readonly buffer Y { act_t y[]; };
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 2) writeonly buffer DX { act_t dx[]; };

layout(push_constant) uniform P { uint rows; int channels, inner; } p;

void main()
{
    const int C = BAKED(S_C, p.channels), INNER = BAKED(S_INNER, p.inner);
    const uint r = kiln_element_index();
    if (r >= p.rows) return;
    const int n = int(r) / INNER, pix = int(r) % INNER;
    const int base = n * C * INNER + pix;
    float dot = 0.0;
    for (int c = 0; c < C; c++) dot += float(dy[base + c * INNER]) * float(y[base + c * INNER]);
    for (int c = 0; c < C; c++) dx[base + c * INNER] = act_t(float(y[base + c * INNER]) * (float(dy[base + c * INNER]) - dot));
}
