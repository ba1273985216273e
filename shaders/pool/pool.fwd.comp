#version 450
// 2-D max or average pooling forward, padding 0, floor rule for the output size: one invocation per output
// element. Max: the first maximum in window scan order wins, NaN propagates (PyTorch's rule, repeated exactly
// by pool.bwd). Average: divides by the kernel area.
// Bindings: 0 x [N,C,H,W] (act_t)  1 y [N,C,OH,OW] (act_t); both [N,H,W,C] in the .nhwc variant (KILN_NHWC)
// Specialization: 0 MODE (0 max, 1 average), 1 KH, 2 KW, 3 SH, 4 SW, 5 H, 6 W, 7 OH, 8 OW (0 = from push constants),
//                 9 C (the channels: the .nhwc variant only)
// Push constants: count (N*C*OH*OW), h, w, oh, ow
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int MODE = 0;
layout(constant_id = 1) const int KH = 2;
layout(constant_id = 2) const int KW = 2;
layout(constant_id = 3) const int SH = 2;
layout(constant_id = 4) const int SW = 2;
layout(constant_id = 5) const int S_H = 0;
layout(constant_id = 6) const int S_W = 0;
layout(constant_id = 7) const int S_OH = 0;
layout(constant_id = 8) const int S_OW = 0;
layout(constant_id = 9) const int C = 1;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };

layout(push_constant) uniform P { uint count; int h, w, oh, ow; } p;

void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    const int H = BAKED(S_H, p.h), W = BAKED(S_W, p.w), OH = BAKED(S_OH, p.oh), OW = BAKED(S_OW, p.ow);
#if KILN_NHWC
    // Element i of y is channel i % C of pixel i / C; a window's elements lie C apart along a row, W C between rows.
    const int ch = int(i % uint(C)), px = int(i / uint(C));
    const int ox = px % OW, oy = px / OW % OH, b = px / (OW * OH);
    const int base = ((b * H + oy * SH) * W + ox * SW) * C + ch, step = C;
#else
    const int ox = int(i % uint(OW));
    const int oy = int((i / uint(OW)) % uint(OH));
    const int plane = int(i / uint(OW * OH));
    const int base = plane * H * W + oy * SH * W + ox * SW, step = 1;
#endif
    if (MODE == 0)
    {
        float best = -1.0 / 0.0;
        for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++)
            {
                const float v = float(x[base + (ky * W + kx) * step]);
                if (v > best || isnan(v)) best = v;
            }
        y[i] = act_t(best);
    }
    else
    {
        float s = 0.0;
        for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) s += float(x[base + (ky * W + kx) * step]);
        y[i] = act_t(s / float(KH * KW));
    }
}
