#version 450
// Convolution bias gradient (Conv2d and ConvTranspose2d): db[c] = sum over b, y, x of dY[b, c, y, x]. One invocation
// per channel and chunk of IMAGES_PER_SPLIT images, adding in order (no atomics, no workgroup barriers). With
// IMAGES_PER_SPLIT > 0 chunk s writes out[s * C + c] and shaders/reduce/partials.comp adds the chunks in order;
// with 0 there is one chunk and out is db itself.
// Bindings: 0 dY [N,C,H,W] (act_t: f16 in the .f16 variant, storage.glsl)  1 out [splits, C] (float)
// Variant *.nhwc (KILN_NHWC): dY is [N,H,W,C]; a channel's values lie C apart, added in the same order.
// Specialization: 0 C, 1 HW (H*W) (0 = from push constants), 2 IMAGES_PER_SPLIT (0 = no split)
// Push constants: n, c, hw
// Dispatch: splits * C invocations (channel fastest), spread over x and y like Emitter.ElementwiseGroups, local x = 64
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int S_C = 0;
layout(constant_id = 1) const int S_HW = 0;
layout(constant_id = 2) const int IMAGES_PER_SPLIT = 0;

layout(std430, binding = 0) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 1) writeonly buffer Out { float db[]; };

layout(push_constant) uniform P { int n, c, hw; } p;

void main()
{
    const int C = BAKED(S_C, p.c), HW = BAKED(S_HW, p.hw);
    const int chunk = IMAGES_PER_SPLIT > 0 ? IMAGES_PER_SPLIT : p.n;
    const int splits = (p.n + chunk - 1) / chunk;
    const int idx = int(kiln_element_index());
    if (idx >= splits * C) return;
    const int ch = idx % C, split = idx / C;
    float s = 0.0;
    for (int b = split * chunk; b < min(p.n, (split + 1) * chunk); b++)
    {
#if KILN_NHWC
        const int base = b * HW * C + ch, step = C;
#else
        const int base = (b * C + ch) * HW, step = 1;
#endif
        for (int i = 0; i < HW; i++) s += float(dy[base + i * step]);
    }
    db[idx] = s;
}
