#version 450
// Upsampling by an integer SCALE over [N,C,H,W]: nearest (source pixel dst / SCALE: PyTorch's nearest, ONNX Resize
// asymmetric + floor) or bilinear (source coordinate src by upsample_src, neighbours i0 = floor(src) and
// min(i0 + 1, size - 1), weights 1 - frac, frac). One invocation per output element.
// Fused into a concat (UpsampleConcat, CTOT != 0): y is the concat's output [N,CTOT,OH,OW] and channel c of x lands in
// channel C0 + c, so the upsampled tensor is never materialised on its own.
// Bindings: 0 x [N,C,H,W] (act_t)  1 y [N,C,H*SCALE,W*SCALE], or [N,CTOT,H*SCALE,W*SCALE] when fused (act_t);
//           both [N,H,W,C] in the .nhwc variant (KILN_NHWC: C always the channels of x, elements taken in y's order)
// Specialization: 0 MODE (0 nearest, 1 bilinear, 2 bilinear with align_corners), 1 SCALE, 2 H, 3 W (0 = from push constants),
//   4 C (channels of x; read only when fused), 5 CTOT (channels of y; 0 = not fused, y is [N,C,OH,OW]), 6 C0 (channel offset in y),
//   7 VEC (0 or 1; UpsampleKernels.Vector decides): invocation i takes elements 4i .. 4i + 3 through 4-wide views of the
//   bindings: 4 columns of one output row in NCHW (OW a multiple of 4), 4 channels of one pixel in NHWC (C, and CTOT and
//   C0 when fused, multiples of 4; each source pixel is one 4-wide load)
// Push constants: count (N*C*OH*OW: the upsampled elements of x, fused or not), h, w
// Dispatch: Emitter.ElementwiseGroups(count), or Emitter.VectorGroups(count) with VEC; local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int MODE = 0;
layout(constant_id = 1) const int SCALE = 2;
layout(constant_id = 2) const int S_H = 0;
layout(constant_id = 3) const int S_W = 0;
layout(constant_id = 4) const int C = 1;
layout(constant_id = 5) const int CTOT = 0;
layout(constant_id = 6) const int C0 = 0;
layout(constant_id = 7) const int VEC = 0;

layout(push_constant) uniform P { uint count; int h, w; } p;

// Bilinear source along one axis, identical in upsample.fwd and upsample.bwd: neighbours i0, i1 and the weight l
// of i1 (i0 gets 1 - l). MODE 1 (align_corners=False, half-pixel): src = max((o + 0.5) / SCALE - 0.5, 0).
// MODE 2 (align_corners=True): src = o * (size - 1) / (size * SCALE - 1), 0 when either side has one pixel.
float upsample_src(int o, int size)
{
    if (MODE == 2)
    {
        const int outSize = size * SCALE;
        return outSize > 1 ? float(o) * (float(size - 1) / float(outSize - 1)) : 0.0;
    }
    return max((float(o) + 0.5) / float(SCALE) - 0.5, 0.0);
}

void upsample_source(int o, int size, out int i0, out int i1, out float l)
{
    const float src = upsample_src(o, size);
    i0 = min(int(src), size - 1);
    i1 = min(i0 + 1, size - 1);
    l = src - float(i0);
}

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 1) writeonly buffer Y4 { act4_t y4[]; };

// Output pixel (oy, ox) from the x elements at base + (row W + column) step: the nearest one, or the bilinear blend.
float upsample_at(int base, int step, int oy, int ox, int H, int W)
{
    if (MODE == 0) return float(x[base + ((oy / SCALE) * W + ox / SCALE) * step]);
    int y0, y1, x0, x1;
    float ly, lx;
    upsample_source(oy, H, y0, y1, ly);
    upsample_source(ox, W, x0, x1, lx);
    return (1.0 - ly) * ((1.0 - lx) * float(x[base + (y0 * W + x0) * step]) + lx * float(x[base + (y0 * W + x1) * step]))
         + ly * ((1.0 - lx) * float(x[base + (y1 * W + x0) * step]) + lx * float(x[base + (y1 * W + x1) * step]));
}

#if KILN_NHWC
// The same for 4 channels at once: base (a multiple of 4) is channel c of image b's first pixel, pixels C apart.
vec4 upsample_at4(int base, int oy, int ox, int H, int W)
{
    if (MODE == 0) return vec4(x4[(base + ((oy / SCALE) * W + ox / SCALE) * C) / 4]);
    int y0, y1, x0, x1;
    float ly, lx;
    upsample_source(oy, H, y0, y1, ly);
    upsample_source(ox, W, x0, x1, lx);
    return (1.0 - ly) * ((1.0 - lx) * vec4(x4[(base + (y0 * W + x0) * C) / 4]) + lx * vec4(x4[(base + (y0 * W + x1) * C) / 4]))
         + ly * ((1.0 - lx) * vec4(x4[(base + (y1 * W + x0) * C) / 4]) + lx * vec4(x4[(base + (y1 * W + x1) * C) / 4]));
}
#endif

void main()
{
    const uint j = kiln_element_index();
    const uint i = VEC != 0 ? 4u * j : j;
    if (i >= p.count) return;
    const int H = BAKED(S_H, p.h), W = BAKED(S_W, p.w), OH = H * SCALE, OW = W * SCALE;
#if KILN_NHWC
    // Element i is channel c of output pixel i / C; it reads channel c of x, C apart per pixel.
    const int c = int(i % uint(C)), px = int(i / uint(C));
    const int ox = px % OW, oy = px / OW % OH, b = px / (OW * OH);
    const int base = b * H * W * C + c, step = C;
    const uint yi = uint(CTOT == 0 ? i : KILN_ACT_INDEX(b, C0 + c, oy, ox, CTOT, OH, OW));
    if (VEC != 0)
    {
        y4[yi / 4u] = act4_t(upsample_at4(base, oy, ox, H, W));
        return;
    }
    y[yi] = act_t(upsample_at(base, step, oy, ox, H, W));
#else
    const int ox = int(i % uint(OW));
    const int oy = int((i / uint(OW)) % uint(OH));
    const uint nc = i / uint(OW * OH);
    const int base = int(nc) * H * W;
    // Where element i of the upsampled x goes: itself, or channel C0 + c of image n in the concat's output.
    const uint yi = CTOT == 0 ? i : i + ((nc / uint(C)) * uint(CTOT - C) + uint(C0)) * uint(OW * OH);
    if (VEC != 0)
    {
        // Columns ox .. ox + 3 of one row.
        y4[yi / 4u] = act4_t(upsample_at(base, 1, oy, ox, H, W), upsample_at(base, 1, oy, ox + 1, H, W),
                             upsample_at(base, 1, oy, ox + 2, H, W), upsample_at(base, 1, oy, ox + 3, H, W));
        return;
    }
    y[yi] = act_t(upsample_at(base, 1, oy, ox, H, W));
#endif
}
