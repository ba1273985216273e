#version 450
// Upsampling backward as a gather: one invocation per INPUT element sums the output gradients that used
// it, so no atomics. Nearest: its SCALE x SCALE block. Bilinear: the output rows/columns of output_window along each
// axis (a superset of those whose neighbours include i), with upsample.fwd's weights recomputed by the same function.
// Fused into a concat (UpsampleConcat, CTOT != 0): dy is the concat's output gradient [N,CTOT,OH,OW] and channel c of x
// reads channel C0 + c of it directly, with no copy of the slice first.
// Bindings: 0 dy [N,C,H*SCALE,W*SCALE], or [N,CTOT,H*SCALE,W*SCALE] when fused (act_t)  1 dx [N,C,H,W] (act_t);
//   both [N,H,W,C] in the .nhwc variant (KILN_NHWC, a channels-last training plan: element i of dx is channel i % C of
//   pixel i / C, its dy pixels CTOT (or C) apart; the same sums, no VEC form)
// Specialization: 0 MODE (0 nearest, 1 bilinear, 2 bilinear with align_corners), 1 SCALE, 2 H, 3 W (0 = from push constants),
//   4 C (channels of x; read only when fused, or in the .nhwc variant), 5 CTOT (channels of dy; 0 = not fused, dy is
//   [N,C,OH,OW]), 6 C0 (channel offset in dy),
//   7 VEC (0 or 1; UpsampleKernels.Vector decides): invocation i takes elements 4i .. 4i + 3 of dx, 4 columns of one row
//   (W a multiple of 4), through 4-wide views of the bindings: nearest reads each of its SCALE rows of dy as SCALE
//   4-wide loads.
// Push constants: count (N*C*H*W), h, w
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

layout(std430, binding = 0) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 0) readonly buffer DY4 { act4_t dy4[]; };
layout(std430, binding = 1) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 1) writeonly buffer DX4 { act4_t dx4[]; };

// Weight of input index `at` in output index `o` along one axis.
float axis_weight(int o, int size, int at)
{
    int i0, i1;
    float l;
    upsample_source(o, size, i0, i1, l);
    return (i0 == at ? 1.0 - l : 0.0) + (i1 == at ? l : 0.0);
}

// Output indices [o0, o1) along one axis whose neighbours can include input index i (a superset: weights decide).
void output_window(int i, int size, out int o0, out int o1)
{
    const int outSize = size * SCALE;
    if (MODE == 2)
    {
        if (size == 1) { o0 = 0; o1 = outSize; return; }
        // src = o * r with r = (size - 1) / (outSize - 1): neighbours include i only for src in (i - 1, i + 1).
        const float inv = float(outSize - 1) / float(size - 1);
        o0 = max(0, int(floor(float(i - 1) * inv)));
        o1 = min(outSize, int(ceil(float(i + 1) * inv)) + 1);
        return;
    }
    o0 = max(0, (i - 1) * SCALE);
    o1 = min(outSize, (i + 2) * SCALE);
}

// dy's pixels lie this many elements apart: 1 in a plane (NCHW), the channels of dy (NHWC).
#if KILN_NHWC
const int PIXEL = CTOT == 0 ? C : CTOT;
#else
const int PIXEL = 1;
#endif

// The gradient of input pixel (iy, ix) from dy at base (its first pixel's element of the channel).
float gather(int base, int iy, int ix, int H, int W, int OW)
{
    float g = 0.0;
    if (MODE == 0)
    {
        for (int dy0 = 0; dy0 < SCALE; dy0++)
            for (int dx0 = 0; dx0 < SCALE; dx0++) g += float(dy[base + ((iy * SCALE + dy0) * OW + ix * SCALE + dx0) * PIXEL]);
        return g;
    }
    int oy0, oy1, ox0, ox1;
    output_window(iy, H, oy0, oy1);
    output_window(ix, W, ox0, ox1);
    for (int oy = oy0; oy < oy1; oy++)
    {
        const float wy = axis_weight(oy, H, iy);
        if (wy == 0.0) continue;
        float row = 0.0;
        for (int ox = ox0; ox < ox1; ox++)
        {
            const float wx = axis_weight(ox, W, ix);
            if (wx != 0.0) row += wx * float(dy[base + (oy * OW + ox) * PIXEL]);
        }
        g += wy * row;
    }
    return g;
}

void main()
{
    const uint j = kiln_element_index();
    const uint i = VEC != 0 ? 4u * j : j;
    if (i >= p.count) return;
    const int H = BAKED(S_H, p.h), W = BAKED(S_W, p.w), OH = H * SCALE, OW = W * SCALE;
#if KILN_NHWC
    const int c = int(i % uint(C)), pixel = int(i / uint(C));
    const int ix = pixel % W, iy = pixel / W % H, image = pixel / (W * H);
    dx[i] = act_t(gather(image * OH * OW * PIXEL + C0 + c, iy, ix, H, W, OW));
#else
    const int ix = int(i % uint(W));
    const int iy = int((i / uint(W)) % uint(H));
    const uint nc = i / uint(W * H);
    // The plane of dy that image n, channel c of x was upsampled into: its own, or channel C0 + c of the concat's.
    const int base = int(CTOT == 0 ? nc : nc + (nc / uint(C)) * uint(CTOT - C) + uint(C0)) * OH * OW;
    if (VEC == 0)
    {
        dx[i] = act_t(gather(base, iy, ix, H, W, OW));
        return;
    }
    if (MODE != 0)
    {
        dx4[j] = act4_t(gather(base, iy, ix, H, W, OW), gather(base, iy, ix + 1, H, W, OW),
                        gather(base, iy, ix + 2, H, W, OW), gather(base, iy, ix + 3, H, W, OW));
        return;
    }
    // Nearest, columns ix .. ix + 3: output row iy SCALE + dy0 holds their blocks side by side, 4 SCALE elements from
    // column ix SCALE, element e in block e / SCALE; summed in the scalar form's order (rows, then columns).
    vec4 g = vec4(0.0);
    for (int dy0 = 0; dy0 < SCALE; dy0++)
        for (int q = 0; q < SCALE; q++)
        {
            const vec4 v = vec4(dy4[(base + (iy * SCALE + dy0) * OW + ix * SCALE) / 4 + q]);
            for (int l = 0; l < 4; l++) g[(4 * q + l) / SCALE] += v[l];
        }
    dx4[j] = act4_t(g);
#endif
}
