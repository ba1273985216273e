#version 450
// Convolution weight gradient, register-blocked: each invocation computes a B1 (c1) x B2 (c2) block of weight
// elements for one tap (ky, kx), looping over its share of the batch and pixels (no atomics): dw[c1, c2l, ky, kx] = sum over b, py, px of
//   a[b, c1, py, px] * q[b, g * C2/GROUPS + c2l, py*SH - PH + ky*DH, px*SW - PW + kx*DW],  g = c1 / (C1/GROUPS).
// Conv2d: a = dY [N,Cout,OH,OW], q = x [N,Cin,H,W], dw = dW [Cout,Cin/groups,KH,KW].
// ConvTranspose2d: a = x [N,Cin,H,W], q = dY [N,Cout,OH,OW], dw = dW [Cin,Cout/groups,KH,KW].
// The pixel ranges whose tap stays inside q are computed up front, so the inner loop has no bounds checks.
// Split: the N*AH rows (b, py) of a are cut into chunks of ROWS_PER_SPLIT; chunk s writes its partial sums to
// out[s * DW_COUNT + ...] and shaders/reduce/partials.comp adds the chunks in order (ROWS_PER_SPLIT = 0: one chunk,
// out is dw itself). Small layers (few channels, a large batch) get enough invocations to fill every core this way.
// Bindings: 0 a [N,C1,AH,AW] (act_t)  1 q [N,C2,QH,QW] (act_t)  2 out [splits, C1,C2/groups,KH,KW] (float)
// (act_t: f16 activations and gradients in the .f16 variant, storage.glsl; sums are f32)
// Variant *.nhwc (KILN_NHWC, a channels-last training plan): a and q are [N,H,W,C] (storage.glsl's KILN_ACT_INDEX); a
// pixel row's columns then lie C apart, and the sums run in the same order.
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW, 8 GROUPS,
//                 9 C1, 10 C2, 11 AH, 12 AW, 13 QH, 14 QW (0 = from push constants),
//                 15 B1, 16 B2 (block sizes, each <= B_MAX = 16), 17 ROWS_PER_SPLIT (0 = no split)
// Push constants: n, c1, c2, ah, aw, qh, qw
// Dispatch: one invocation per block and chunk: splits * GROUPS * ceil(C1/GROUPS / B1) * ceil(C2/GROUPS / B2) * KH * KW
// invocations, spread over x and y like Emitter.ElementwiseGroups, local x = 64
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int SH = 1;
layout(constant_id = 3) const int SW = 1;
layout(constant_id = 4) const int PH = 0;
layout(constant_id = 5) const int PW = 0;
layout(constant_id = 6) const int DH = 1;
layout(constant_id = 7) const int DW = 1;
layout(constant_id = 8) const int GROUPS = 1;
layout(constant_id = 9) const int S_C1 = 0;
layout(constant_id = 10) const int S_C2 = 0;
layout(constant_id = 11) const int S_AH = 0;
layout(constant_id = 12) const int S_AW = 0;
layout(constant_id = 13) const int S_QH = 0;
layout(constant_id = 14) const int S_QW = 0;
layout(constant_id = 15) const int B1 = 4;
layout(constant_id = 16) const int B2 = 4;
layout(constant_id = 17) const int ROWS_PER_SPLIT = 0;
#define B_MAX 16

#if KILN_TEXEL_READS
// Variant *.texel (shaders/Variants.props; CompileOptions.TexelReads, the default on CPU devices such as lavapipe, where a
// storage-buffer read is a loop over the SIMD lanes and a texel fetch a branch-free gather): a and q through R32_SFLOAT
// texel views (R16_SFLOAT for f16 values).
layout(binding = 0) uniform samplerBuffer aTexels;
layout(binding = 1) uniform samplerBuffer qTexels;
#define A(i) texelFetch(aTexels, i).r
#define Q(i) texelFetch(qTexels, i).r
#else
layout(std430, binding = 0) readonly buffer A_ { act_t a[]; };
layout(std430, binding = 1) readonly buffer Q_ { act_t q[]; };
#define A(i) float(a[i])
#define Q(i) float(q[i])
#endif
layout(std430, binding = 2) writeonly buffer Out { float dw[]; };

layout(push_constant) uniform P { int n, c1, c2, ah, aw, qh, qw; } p;

// First and one-past-last position i in [0, size) with 0 <= i*s - pad + k*d < limit.
ivec2 tap_range(int size, int s, int pad, int kd, int limit)
{
    const int off = kd - pad;                      // q index = i*s + off
    const int lo = off >= 0 ? 0 : (-off + s - 1) / s;
    const int hi = limit - off <= 0 ? 0 : min(size, (limit - off + s - 1) / s);
    return ivec2(lo, max(lo, hi));
}

void main()
{
    const int C1 = BAKED(S_C1, p.c1), C2 = BAKED(S_C2, p.c2);
    const int AH = BAKED(S_AH, p.ah), AW = BAKED(S_AW, p.aw), QH = BAKED(S_QH, p.qh), QW = BAKED(S_QW, p.qw);
    const int c2G = C2 / GROUPS, c1G = C1 / GROUPS;
    const int blocks1 = (c1G + B1 - 1) / B1, blocks2 = (c2G + B2 - 1) / B2;
    const int blocksPerSplit = GROUPS * blocks1 * blocks2 * KH * KW;
    const int rows = p.n * AH;
    const int chunk = ROWS_PER_SPLIT > 0 ? ROWS_PER_SPLIT : rows;
    const int splits = (rows + chunk - 1) / chunk;
    const int index = int(kiln_element_index());
    if (index >= splits * blocksPerSplit) return;
    const int split = index / blocksPerSplit;
    const int idx = index - split * blocksPerSplit;
    const int kx = idx % KW;
    const int ky = (idx / KW) % KH;
    const int b2 = (idx / (KW * KH)) % blocks2;
    const int b1 = (idx / (KW * KH * blocks2)) % blocks1;
    const int g = idx / (KW * KH * blocks2 * blocks1);
    const int c1First = g * c1G + b1 * B1, c2lFirst = b2 * B2, c2First = g * c2G + c2lFirst;
    const int n1 = min(B1, c1G - b1 * B1), n2 = min(B2, c2G - c2lFirst);

    const ivec2 ry = tap_range(AH, SH, PH, ky * DH, QH);
    const ivec2 rx = tap_range(AW, SW, PW, kx * DW, QW);
    const int offY = ky * DH - PH, offX = kx * DW - PW;
#if KILN_NHWC
    const int A_COLUMN = C1, Q_COLUMN = C2;
#else
    const int A_COLUMN = 1, Q_COLUMN = 1;
#endif
    float acc[B_MAX][B_MAX];
    for (int i = 0; i < B1; i++)
        for (int j = 0; j < B2; j++) acc[i][j] = 0.0;
    const int r0 = split * chunk, r1 = min(r0 + chunk, rows);
    for (int b = r0 / AH; b * AH < r1; b++)
    {
        const int pyLo = max(ry.x, r0 - b * AH), pyHi = min(ry.y, r1 - b * AH);
        for (int py = pyLo; py < pyHi; py++)
        {
            int aRow[B_MAX], qRow[B_MAX];
            // Rows of channels past the block's end repeat the last valid one: loads stay in bounds, results are dropped.
            // The index is linear in the column, so column offX (negative at the left padding) is a valid base.
            for (int i = 0; i < B1; i++) aRow[i] = KILN_ACT_INDEX(b, c1First + min(i, n1 - 1), py, 0, C1, AH, AW);
            for (int j = 0; j < B2; j++) qRow[j] = KILN_ACT_INDEX(b, c2First + min(j, n2 - 1), py * SH + offY, offX, C2, QH, QW);
            for (int px = rx.x; px < rx.y; px++)
            {
                float av[B_MAX], qv[B_MAX];
                for (int i = 0; i < B1; i++) av[i] = A(aRow[i] + px * A_COLUMN);
                for (int j = 0; j < B2; j++) qv[j] = Q(qRow[j] + px * SW * Q_COLUMN);
                for (int i = 0; i < B1; i++)
                    for (int j = 0; j < B2; j++) acc[i][j] += av[i] * qv[j];
            }
        }
    }
    const int outBase = split * C1 * c2G * KH * KW;
    for (int i = 0; i < n1; i++)
        for (int j = 0; j < n2; j++)
            dw[outBase + (((c1First + i) * c2G + c2lFirst + j) * KH + ky) * KW + kx] = acc[i][j];
}
