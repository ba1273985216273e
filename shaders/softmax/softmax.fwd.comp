#version 450
// Softmax along one axis of a tensor seen as [N, C, inner] (N: the dimensions before the axis, inner: those after it), numerically stable:
// y = exp(x - max) / sum(exp(x - max)). One invocation per (n, pixel) looping over the C channels.
// Bindings: 0 x (act_t)  1 y (act_t, same shape)
// Specialization: 0 C, 1 INNER (0 = from push constants)
// Push constants: rows (N * inner), channels, inner
// Dispatch: Emitter.ElementwiseGroups(rows), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int S_C = 0;
layout(constant_id = 1) const int S_INNER = 0;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };

layout(push_constant) uniform P { uint rows; int channels, inner; } p;

void main()
{
    const int C = BAKED(S_C, p.channels), INNER = BAKED(S_INNER, p.inner);
    const uint r = kiln_element_index();
    if (r >= p.rows) return;
    const int n = int(r) / INNER, pix = int(r) % INNER;
    const int base = n * C * INNER + pix;
    float m = float(x[base]);
    for (int c = 1; c < C; c++) m = max(m, float(x[base + c * INNER]));
    float s = 0.0;
    for (int c = 0; c < C; c++) s += exp(float(x[base + c * INNER]) - m);
    const float inv = 1.0 / s;
    for (int c = 0; c < C; c++) y[base + c * INNER] = act_t(exp(float(x[base + c * INNER]) - m) * inv);
}
