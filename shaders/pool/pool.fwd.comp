#version 450
// 2-D max or average pooling forward, padding 0, floor rule for the output size: one invocation per output
// element, or per 4 (VEC). Max: the first maximum in window scan order wins, NaN propagates (PyTorch's rule, repeated
// exactly by pool.bwd). Average: divides by the kernel area.
// VEC (Pool2dKernels.Vector decides): invocation i takes outputs 4i .. 4i + 3 through 4-wide views of the bindings,
// 4 consecutive columns of one output row in NCHW (needs KW == SW, OW and W multiples of 4: each window row is KW
// 4-wide loads), 4 consecutive channels of one pixel in NHWC (needs C a multiple of 4).
// Bindings: 0 x [N,C,H,W] (act_t)  1 y [N,C,OH,OW] (act_t); both [N,H,W,C] in the .nhwc variant (KILN_NHWC)
// Specialization: 0 MODE (0 max, 1 average), 1 KH, 2 KW, 3 SH, 4 SW, 5 H, 6 W, 7 OH, 8 OW (0 = from push constants),
//                 9 C (the channels: the .nhwc variant only), 10 VEC (0 or 1)
// Push constants: count (N*C*OH*OW), h, w, oh, ow
// Dispatch: Emitter.ElementwiseGroups(count), or Emitter.VectorGroups(count) with VEC; local x = 256
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
layout(constant_id = 10) const int VEC = 0;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 1) writeonly buffer Y4 { act4_t y4[]; };

layout(push_constant) uniform P { uint count; int h, w, oh, ow; } p;

// One window element v into its output's accumulator, taken in scan order: max keeps the first maximum, NaN winning;
// average sums.
void take(inout float acc, float v)
{
    if (MODE != 0) acc += v;
    else if (v > acc || isnan(v)) acc = v;
}

// VEC: outputs 4i .. 4i + 3, one 4-wide store.
void main_vector(uint i, int H, int W, int OH, int OW)
{
    vec4 acc = vec4(MODE == 0 ? -1.0 / 0.0 : 0.0);
#if KILN_NHWC
    // Channels 4c .. 4c + 3 of one output pixel: each window element is one 4-wide load, C apart along a row.
    const uint px = 4u * i / uint(C);
    const int ox = int(px % uint(OW)), oy = int(px / uint(OW) % uint(OH)), b = int(px / uint(OW * OH));
    const int base = ((b * H + oy * SH) * W + ox * SW) * C + int(4u * i % uint(C));
    for (int ky = 0; ky < KH; ky++)
        for (int kx = 0; kx < KW; kx++)
        {
            const vec4 v = vec4(x4[(base + (ky * W + kx) * C) / 4]);
            for (int l = 0; l < 4; l++) take(acc[l], v[l]);
        }
#else
    // Columns ox .. ox + 3 of one output row: their windows' row ky is 4 KW consecutive elements of x, KW 4-wide
    // loads; element e of them belongs to output e / KW.
    const uint o = 4u * i;
    const int ox = int(o % uint(OW)), oy = int(o / uint(OW) % uint(OH)), plane = int(o / uint(OW * OH));
    for (int ky = 0; ky < KH; ky++)
    {
        const int row = (plane * H + oy * SH + ky) * W + ox * SW;
        for (int q = 0; q < KW; q++)
        {
            const vec4 v = vec4(x4[row / 4 + q]);
            for (int l = 0; l < 4; l++) take(acc[(4 * q + l) / KW], v[l]);
        }
    }
#endif
    y4[i] = act4_t(MODE == 0 ? acc : acc / float(KH * KW));
}

void main()
{
    const uint i = kiln_element_index();
    const int H = BAKED(S_H, p.h), W = BAKED(S_W, p.w), OH = BAKED(S_OH, p.oh), OW = BAKED(S_OW, p.ow);
    if (VEC != 0)
    {
        if (4u * i < p.count) main_vector(i, H, W, OH, OW);
        return;
    }
    if (i >= p.count) return;
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
    float acc = MODE == 0 ? -1.0 / 0.0 : 0.0;
    for (int ky = 0; ky < KH; ky++)
        for (int kx = 0; kx < KW; kx++) take(acc, float(x[base + (ky * W + kx) * step]));
    y[i] = act_t(MODE == 0 ? acc : acc / float(KH * KW));
}
