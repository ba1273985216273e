#version 450
// Convolution weight gradient for layers with one channel per group on the q side (C2 / GROUPS == 1: the input of a
// Conv2d(1 -> C) or the output of a ConvTranspose2d(C -> 1)): each invocation computes B1 (c1) channels x every tap
// (KH * KW <= 9) at once, so each a value loaded feeds every tap and each q value B1 channels:
//   dw[c1, 0, ky, kx] = sum over b, py, px of a[b, c1, py, px] * q[b, g, py*SH - PH + ky*DH, px*SW - PW + kx*DW],  g = c1 / (C1/GROUPS)
// (q reads outside the image count as 0). Conv2d: a = dY, q = x; ConvTranspose2d: a = x, q = dY, as in
// conv2d.bwd_weight.comp. The N*AH rows (b, py) of a are cut into chunks of ROWS_PER_SPLIT; chunk s writes its
// partial sums to out[s * C1 * KH * KW + ...] and shaders/reduce/partials.comp adds the chunks in order
// (ROWS_PER_SPLIT = 0: one chunk, out is dw itself).
// Bindings: 0 a [N,C1,AH,AW] (act_t)  1 q [N,C2,QH,QW] (act_t)  2 out [splits, C1,1,KH,KW] (float)
// (act_t: f16 activations and gradients in the .f16 variant, storage.glsl; sums are f32)
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW, 8 GROUPS,
//                 9 C1, 10 C2, 11 AH, 12 AW, 13 QH, 14 QW (0 = from push constants),
//                 15 B1 (1..8), 16 ROWS_PER_SPLIT (0 = no split)
// Push constants: n, c1, c2, ah, aw, qh, qw
// Dispatch: one invocation per block and chunk: splits * GROUPS * ceil(C1/GROUPS / B1) invocations (blocks fastest),
// spread over x and y like Emitter.ElementwiseGroups, local x = 64
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

#define B_MAX 8
#define TAPS_MAX 9

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
layout(constant_id = 15) const int B1 = 8;
layout(constant_id = 16) const int ROWS_PER_SPLIT = 0;

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

void main()
{
    const int C1 = BAKED(S_C1, p.c1), C2 = BAKED(S_C2, p.c2);
    const int AH = BAKED(S_AH, p.ah), AW = BAKED(S_AW, p.aw), QH = BAKED(S_QH, p.qh), QW = BAKED(S_QW, p.qw);
    const int c1G = C1 / GROUPS;
    const int blocks1 = (c1G + B1 - 1) / B1;
    const int blocksPerSplit = GROUPS * blocks1;
    const int rows = p.n * AH;
    const int chunk = ROWS_PER_SPLIT > 0 ? ROWS_PER_SPLIT : rows;
    const int splits = (rows + chunk - 1) / chunk;
    const int index = int(kiln_element_index());
    if (index >= splits * blocksPerSplit) return;
    const int split = index / blocksPerSplit;
    const int blk = index - split * blocksPerSplit;
    const int g = blk / blocks1;
    const int c1First = g * c1G + (blk % blocks1) * B1;
    const int n1 = min(B1, c1G - (blk % blocks1) * B1);

    float acc[B_MAX][TAPS_MAX];
    for (int i = 0; i < B1; i++)
        for (int t = 0; t < KH * KW; t++) acc[i][t] = 0.0;
    const int r0 = split * chunk, r1 = min(r0 + chunk, rows);
    for (int r = r0; r < r1; r++)
    {
        const int b = r / AH, py = r - b * AH;
        int aRow[B_MAX];
        // Rows of channels past the block's end repeat the last valid one: loads stay in bounds, results are dropped.
        for (int i = 0; i < B1; i++) aRow[i] = ((b * C1 + c1First + min(i, n1 - 1)) * AH + py) * AW;
        const int qPlane = (b * C2 + g) * QH;
        for (int px = 0; px < AW; px++)
        {
            float av[B_MAX], qv[TAPS_MAX];
            for (int i = 0; i < B1; i++) av[i] = A(aRow[i] + px);
            for (int ky = 0; ky < KH; ky++)
            {
                const int qy = py * SH - PH + ky * DH;
                for (int kx = 0; kx < KW; kx++)
                {
                    const int qx = px * SW - PW + kx * DW;
                    qv[ky * KW + kx] = (qy >= 0 && qy < QH && qx >= 0 && qx < QW) ? Q((qPlane + qy) * QW + qx) : 0.0;
                }
            }
            for (int i = 0; i < B1; i++)
                for (int t = 0; t < KH * KW; t++) acc[i][t] += av[i] * qv[t];
        }
    }
    const int outBase = split * C1 * KH * KW;
    for (int i = 0; i < n1; i++)
        for (int t = 0; t < KH * KW; t++) dw[outBase + (c1First + i) * KH * KW + t] = acc[i][t];
}
