#version 450
// Convolution weight gradient as a tiled implicit GEMM (the GPU kernel; conv2d.bwd_weight.comp is lavapipe's):
//   dw[g*C1G + m, n] = sum over k of A[m, k] * B[n, k],  n = (c2l, ky, kx) = (c2l * KH + ky) * KW + kx,
//   k = (b, py, px) over the N * AH * AW pixels of a,
//   A[m, k] = a[b, g*C1G + m, py, px],   B[n, k] = q[b, g*C2G + c2l, py*SH - PH + ky*DH, px*SW - PW + kx*DW] (0 outside q).
// Conv2d: a = dY [N,Cout,OH,OW], q = x [N,Cin,H,W], dw = dW [Cout,Cin/groups,KH,KW].
// ConvTranspose2d: a = x [N,Cin,H,W], q = dY [N,Cout,OH,OW], dw = dW [Cin,Cout/groups,KH,KW].
// A workgroup of 256 invocations (16 x 16) computes a BM x BN tile of dw (BM = 16*TM, BN = 16*TN), each invocation
// TM x TN elements (rows ty + 16i, columns tx + 16j: conflict-free shared reads). K advances BK = 32 pixels at a time:
// every invocation loads 2*TM values of A and 2*TN of B (32 consecutive pixels per 32 invocations: coalesced
// loads along the pixel dimension) into registers one step ahead, stores them to shared memory ([row][BK + 4]:
// conflict-free stores, and vec4 reads of four pixels of 16 rows in the minimum 2 wavefronts) and multiplies from there.
// Split-K: the K pixels are cut into chunks of K_PER_SPLIT (a multiple of BK); chunk s writes out[s * DW_COUNT + ...]
// and shaders/reduce/partials.comp adds the chunks in order (K_PER_SPLIT = 0: one chunk, out is dw itself). No atomics.
// f16 activations and gradients (the .f16 variant, storage.glsl) are widened to f32 as they are loaded: tiles and sums
// stay f32.
// Variant *.bias (KILN_BIAS_SUM; Conv2d, whose a is dY: the bias gradient is A's row sums): the workgroups of the first
// column tile also add up their rows of every staged A tile, one invocation per row, and write them into db (or slice
// split of its [splits, C1] partials), so no pass of its own reads dY for the bias.
// Variant *.nhwc (KILN_NHWC, with its .bias form): a and q channels-last [N,AH,AW,C1], [N,QH,QW,C2]; the same products
// summed in the same order.
// Bindings: 0 a [N,C1,AH,AW] (act_t)  1 q [N,C2,QH,QW] (act_t)  2 out [splits, C1, C2/groups * KH * KW] (float)
//           3 x2 (the .concat variant: q is the first part of a concatenation, include/concat_reads.glsl)
//           after those, in the .bias variant: db [C1] or partials [splits, C1] (float)
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW, 8 GROUPS,
//                 9 C1, 10 C2, 11 AH, 12 AW, 13 QH, 14 QW (0 = from push constants),
//                 15 TM, 16 TN (1..4), 17 K_PER_SPLIT (0 = no split)
// Push constants: n, c1, c2, ah, aw, qh, qw
// Dispatch: (ceil(C2G*KH*KW / BN), ceil(C1G / BM), GROUPS * splits) workgroups, local x = 256
#include "kiln.glsl"
#include "storage.glsl"

#define BK 32
#define LDS4 (BK / 4 + 1) // a tile row in vec4s: BK + 4 floats, so vec4 reads of 16 rows take the minimum 2 wavefronts
#define T_MAX 4
#define TILE_MAX (16 * T_MAX)
#define LOAD_MAX (2 * T_MAX)
#define OUTSIDE (-0x10000000)

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
layout(constant_id = 15) const int TM = 4;
layout(constant_id = 16) const int TN = 4;
layout(constant_id = 17) const int K_PER_SPLIT = 0;

layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer Q { act_t q[]; };
layout(std430, binding = 2) writeonly buffer Out { float dw[]; };
#if KILN_CONCAT_READS
// Variant *.concat (include/concat_reads.glsl): q is the concatenation of q and x2 (binding 3), upsampled as it is read.
#define KILN_CONCAT_X q
#define KILN_CONCAT_BINDING 3
#include "concat_reads.glsl"
#endif

#if KILN_BIAS_SUM
#include "bias_sum.glsl"
#endif

layout(push_constant) uniform P { int n, c1, c2, ah, aw, qh, qw; } p;

shared vec4 tileA[TILE_MAX * LDS4];
shared vec4 tileB[TILE_MAX * LDS4];

// Per invocation: the pixel lk of rows lr + 8i it loads, each row's channel plane (and for B its tap offsets),
// and the values loaded for the next step.
int lk, lr;
int aChannel[LOAD_MAX], aPlane[LOAD_MAX], qPlane[LOAD_MAX], qChannel[LOAD_MAX], offY[LOAD_MAX], offX[LOAD_MAX];
float ra[LOAD_MAX], rb[LOAD_MAX];

// Loads pixels kk + lk (0 past kEnd) of this invocation's rows of A and B into ra, rb.
void load_step(int kk, int kEnd, int C1, int C2, int AW, int AHW, int QH, int QW, int QHW)
{
    const int k = min(kk + lk, kEnd - 1);
    const bool inK = kk + lk < kEnd;
    const int b = k / AHW, pix = k - b * AHW, py = pix / AW, px = pix - py * AW;
    const int aBase = b * C1 * AHW + pix, qBase = b * C2 * QHW;
    for (int i = 0; i < 2 * TM; i++)
    {
#if KILN_NHWC
        const float v = float(a[(b * AHW + pix) * C1 + aChannel[i]]);
#else
        const float v = float(a[aBase + aPlane[i]]);
#endif
        ra[i] = inK ? v : 0.0;
    }
    for (int i = 0; i < 2 * TN; i++)
    {
        const int qy = py * SH + offY[i], qx = px * SW + offX[i];
        const bool inside = inK && qy >= 0 && qy < QH && qx >= 0 && qx < QW;
#if KILN_CONCAT_READS
        const float v = inside ? float(kiln_concat_read(b, qChannel[i], qy, qx, C2, QH, QW)) : 0.0;
#elif KILN_NHWC
        const float v = float(q[inside ? KILN_ACT_INDEX(b, qChannel[i], qy, qx, C2, QH, QW) : 0]);
#else
        const float v = float(q[inside ? qBase + qPlane[i] + qy * QW + qx : 0]);
#endif
        rb[i] = inside ? v : 0.0;
    }
}

void main()
{
    const int C1 = BAKED(S_C1, p.c1), C2 = BAKED(S_C2, p.c2);
    const int AH = BAKED(S_AH, p.ah), AW = BAKED(S_AW, p.aw), QH = BAKED(S_QH, p.qh), QW = BAKED(S_QW, p.qw);
    const int AHW = AH * AW, QHW = QH * QW;
    const int c1G = C1 / GROUPS, c2G = C2 / GROUPS, taps = KH * KW, NG = c2G * taps;
    const int K = p.n * AHW;
    const int chunk = K_PER_SPLIT > 0 ? K_PER_SPLIT : K;
    const int z = int(gl_WorkGroupID.z);
    const int g = z % GROUPS, split = z / GROUPS;
    const int m0 = int(gl_WorkGroupID.y) * 16 * TM, n0 = int(gl_WorkGroupID.x) * 16 * TN;
    const int t = int(gl_LocalInvocationIndex);
    const int tx = t % 16, ty = t / 16;
    lk = t % BK;
    lr = t / BK;
    const int kBegin = split * chunk, kEnd = min(K, kBegin + chunk);

    // Rows of A past C1G repeat the last one (in bounds, never written); rows of B past NG read nothing.
    for (int i = 0; i < 2 * TM; i++)
    {
        aChannel[i] = g * c1G + min(m0 + lr + 8 * i, c1G - 1);
        aPlane[i] = aChannel[i] * AHW;
    }
    for (int i = 0; i < 2 * TN; i++)
    {
        const int nn = n0 + lr + 8 * i, c2l = min(nn, NG - 1) / taps, tap = min(nn, NG - 1) % taps;
        qChannel[i] = g * c2G + c2l;
        qPlane[i] = qChannel[i] * QHW;
        offY[i] = nn < NG ? (tap / KW) * DH - PH : OUTSIDE;
        offX[i] = (tap % KW) * DW - PW;
    }

    float acc[T_MAX][T_MAX];
    for (int i = 0; i < TM; i++)
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0;
#if KILN_BIAS_SUM
    // The bias gradient's rows: invocation t < BM of the first column tile adds up row t of every A tile.
    const bool sumsBias = gl_WorkGroupID.x == 0 && t < 16 * TM;
    float biasSum = 0.0;
#endif

    load_step(kBegin, kEnd, C1, C2, AW, AHW, QH, QW, QHW);
    for (int kk = kBegin; kk < kEnd; kk += BK)
    {
        barrier(); // the previous step's multiply is done with the tiles
        for (int i = 0; i < 2 * TM; i++) tileA[(lr + 8 * i) * LDS4 + lk / 4][lk % 4] = ra[i];
        for (int i = 0; i < 2 * TN; i++) tileB[(lr + 8 * i) * LDS4 + lk / 4][lk % 4] = rb[i];
        barrier();
        // The next step's global loads are issued before this step's multiply, which hides their latency.
        if (kk + BK < kEnd) load_step(kk + BK, kEnd, C1, C2, AW, AHW, QH, QW, QHW);
        // Four pixels per shared read: one vec4 per row of A and of B.
        for (int k4 = 0; k4 < BK / 4; k4++)
        {
            vec4 av[T_MAX], bv[T_MAX];
            for (int i = 0; i < TM; i++) av[i] = tileA[(ty + 16 * i) * LDS4 + k4];
            for (int j = 0; j < TN; j++) bv[j] = tileB[(tx + 16 * j) * LDS4 + k4];
            for (int i = 0; i < TM; i++)
                for (int j = 0; j < TN; j++)
                {
                    acc[i][j] = fma(av[i].x, bv[j].x, acc[i][j]);
                    acc[i][j] = fma(av[i].y, bv[j].y, acc[i][j]);
                    acc[i][j] = fma(av[i].z, bv[j].z, acc[i][j]);
                    acc[i][j] = fma(av[i].w, bv[j].w, acc[i][j]);
                }
        }
#if KILN_BIAS_SUM
        if (sumsBias)
            for (int k4 = 0; k4 < BK / 4; k4++)
            {
                const vec4 v = tileA[t * LDS4 + k4];
                biasSum += (v.x + v.y) + (v.z + v.w);
            }
#endif
    }
#if KILN_BIAS_SUM
    if (sumsBias && m0 + t < c1G) db[split * C1 + g * c1G + m0 + t] = biasSum;
#endif

    const int outBase = split * C1 * NG;
    for (int i = 0; i < TM; i++)
    {
        const int m = m0 + ty + 16 * i;
        if (m >= c1G) break;
        for (int j = 0; j < TN; j++)
        {
            const int nn = n0 + tx + 16 * j;
            if (nn < NG) dw[outBase + (g * c1G + m) * NG + nn] = acc[i][j];
        }
    }
}
