#version 450
// Convolution weight gradient as an implicit GEMM on workgroup-scope cooperative matrices (VK_NV_cooperative_matrix2),
// for Precision.Fp16:
//   dw[m, n] = sum over k of A[m, k] * B[k, n],  n = (c2, ky, kx) = (c2 * KH + ky) * KW + kx,
//   k = (b, py, px) over the N * AH * AW pixels of a,
//   A[m, k] = a[b, m, py, px],   B[k, n] = q[b, c2, py*SH - PH + ky*DH, px*SW - PW + kx*DW] (0 outside q).
// Conv2d: a = dY [N,Cout,OH,OW], q = x [N,Cin,H,W], dw = dW [Cout,Cin,KH,KW].
// ConvTranspose2d: a = x [N,Cin,H,W], q = dY [N,Cout,OH,OW], dw = dW [Cin,Cout,KH,KW]. Groups must be 1.
// A workgroup computes one BM x BN tile of dw as ONE workgroup-scope f32 accumulator (the driver spreads it over the
// subgroups). K advances BK pixels a step: every invocation owns the step's pixel tid % BK (BK consecutive pixels per
// BK invocations: coalesced reads), and RSTEP = THREADS / BK invocations share a pixel, each taking every RSTEP-th row
// of A and column of B; its columns' channel and tap offsets are computed once. The step's values are read into
// registers one step ahead, then stored as f16 into shared memory (A [BM][BK + 8], B [BK][BN + 8]), two barriers a step.
// The accumulator goes out through a shared f32 tile with bounds checks, consecutive invocations on consecutive columns.
// Split-K: the pixels are cut into chunks of K_PER_SPLIT (a multiple of BK); chunk z writes out[z * C1 * N2 + ...] and
// shaders/reduce/partials.comp adds the chunks in order (K_PER_SPLIT = 0: one chunk, out is dw itself). No atomics.
// With KILN_SUBGROUP_SCOPE (the .subgroup variant): subgroup-scope matrices in a one-subgroup workgroup (lavapipe of
// Mesa 26, which has flexible dimensions but no workgroup scope): the same arithmetic, how the tests check it.
// Shared memory: 2 * (BM * (BK + 8) + BK * (BN + 8)) + 4 * BM * (BN + 4) bytes. Registers: at most A_MAX values of A and
// B_MAX of B per invocation (Conv2dWeightGradCoopMat2.Fits).
// Variant *.bias (KILN_BIAS_SUM; Conv2d, whose a is dY: the bias gradient is A's row sums): the workgroups of the first
// column tile also add up the rows of every staged A slice (the f16 values the products take), invocation tid the rows
// tid, tid + THREADS, ... (at most BIAS_MAX), and write them into db (or slice z of its [splits, C1] partials), so no
// pass of its own reads dY for the bias.
// Variant *.nhwc (KILN_NHWC, with its .bias and .subgroup forms): a and q channels-last [N,AH,AW,C1], [N,QH,QW,C2]
// (KILN_ACT_INDEX); the same slices staged, so the same products summed in the same order.
// Bindings: 0 a [N,C1,AH,AW] (act_t)  1 q [N,C2,QH,QW] (act_t)  2 out [splits, C1, C2 * KH * KW] (float)
//           3 x2 (the .concat variant: q is the first part of a concatenation, include/concat_reads.glsl)
//           after those, in the .bias variant: db [C1] or partials [splits, C1] (float)
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW, 8 BM, 9 BN, 10 BK, 11 THREADS, 12 K_PER_SPLIT (0 = no split)
// Push constants: n, c1, c2, ah, aw, qh, qw
// Dispatch: (ceil(C2*KH*KW / BN), ceil(C1 / BM), splits) workgroups, local x = THREADS
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"

#ifdef KILN_SUBGROUP_SCOPE
#define SCOPE gl_ScopeSubgroup
#else
#define SCOPE gl_ScopeWorkgroup
#endif

#define A_MAX 32
#define B_MAX 64
#define PAD 8

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int SH = 1;
layout(constant_id = 3) const int SW = 1;
layout(constant_id = 4) const int PH = 1;
layout(constant_id = 5) const int PW = 1;
layout(constant_id = 6) const int DH = 1;
layout(constant_id = 7) const int DW = 1;
layout(constant_id = 8) const int BM = 64;
layout(constant_id = 9) const int BN = 64;
layout(constant_id = 10) const int BK = 32;
layout(constant_id = 11) const int THREADS = 128;
layout(constant_id = 12) const int K_PER_SPLIT = 0;

const int RSTEP = THREADS / BK;     // invocations per pixel of a step
const int A_PER = BM / RSTEP;       // rows of A per invocation
const int B_PER = BN / RSTEP;       // columns of B per invocation
const int LDA = BK + PAD;
const int LDB = BN + PAD;
const int LDC = BN + 4;

layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer Q { act_t q[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };

#if KILN_CONCAT_READS
// Variant *.concat (include/concat_reads.glsl): q concatenated with x2 (binding 3), upsampled as the slice is gathered.
#define KILN_CONCAT_X q
#define KILN_CONCAT_BINDING 3
#include "concat_reads.glsl"
#endif

#if KILN_BIAS_SUM
#include "bias_sum.glsl"
#endif

layout(push_constant) uniform Push { int n, c1, c2, ah, aw, qh, qw; } pc;

shared float16_t sA[BM * LDA];
shared float16_t sB[BK * LDB];
shared float sC[BM * LDC];

int j;                     // this invocation's pixel within a step
int r0;                    // its first row of A / column of B
int bC2[B_MAX];            // per owned column: c2 * QH * QW (c2 in .nhwc; -1: past N2), ky * DH, kx * DW
int bDy[B_MAX];
int bDx[B_MAX];
float16_t stagedA[A_MAX];
float16_t stagedB[B_MAX];

void gather(int k0, int kEnd, int m0)
{
    int k = k0 + j;
    bool valid = k < kEnd;
    int plane = pc.ah * pc.aw;
    int b = k / plane, rem = k - (k / plane) * plane;
    int py = rem / pc.aw, px = rem - (rem / pc.aw) * pc.aw;
#if KILN_NHWC
    int aBase = (b * plane + rem) * pc.c1 + m0 + r0, aStep = RSTEP;
#else
    int aBase = (b * pc.c1 + m0 + r0) * plane + rem, aStep = RSTEP * plane;
#endif
    [[unroll]] for (int i = 0; i < A_PER; i++)
    {
        int m = m0 + r0 + i * RSTEP;
        stagedA[i] = valid && m < pc.c1 ? float16_t(float(a[aBase + i * aStep])) : float16_t(0.0);
    }
    int qPlane = pc.qh * pc.qw;
    int qBase = b * pc.c2 * qPlane;
    int oy = py * SH - PH, ox = px * SW - PW;
    [[unroll]] for (int i = 0; i < B_PER; i++)
    {
        int iy = oy + bDy[i], ix = ox + bDx[i];
        bool inside = valid && bC2[i] >= 0 && iy >= 0 && iy < pc.qh && ix >= 0 && ix < pc.qw;
#if KILN_CONCAT_READS
        stagedB[i] = inside ? float16_t(float(kiln_concat_read(b, bC2[i] / qPlane, iy, ix, pc.c2, pc.qh, pc.qw))) : float16_t(0.0);
#elif KILN_NHWC
        stagedB[i] = inside ? float16_t(float(q[KILN_ACT_INDEX(b, bC2[i], iy, ix, pc.c2, pc.qh, pc.qw)])) : float16_t(0.0);
#else
        stagedB[i] = inside ? float16_t(float(q[qBase + bC2[i] + iy * pc.qw + ix])) : float16_t(0.0);
#endif
    }
}

void stage()
{
    [[unroll]] for (int i = 0; i < A_PER; i++) sA[(r0 + i * RSTEP) * LDA + j] = stagedA[i];
    [[unroll]] for (int i = 0; i < B_PER; i++) sB[j * LDB + r0 + i * RSTEP] = stagedB[i];
}

void main()
{
    int tid = int(gl_LocalInvocationID.x);
    int n0 = int(gl_WorkGroupID.x) * BN, m0 = int(gl_WorkGroupID.y) * BM;
    int taps = KH * KW, n2 = pc.c2 * taps;
    j = tid % BK;
    r0 = tid / BK;
    [[unroll]] for (int i = 0; i < B_PER; i++)
    {
        int col = n0 + r0 + i * RSTEP;
        int c2 = col / taps, t = col - (col / taps) * taps;
        int ky = t / KW, kx = t - (t / KW) * KW;
#if KILN_NHWC
        bC2[i] = col < n2 ? c2 : -1;
#else
        bC2[i] = col < n2 ? c2 * pc.qh * pc.qw : -1;
#endif
        bDy[i] = ky * DH;
        bDx[i] = kx * DW;
    }

    int total = pc.n * pc.ah * pc.aw;
    int kStart = K_PER_SPLIT > 0 ? int(gl_WorkGroupID.z) * K_PER_SPLIT : 0;
    int kEnd = K_PER_SPLIT > 0 ? min(total, kStart + K_PER_SPLIT) : total;

    coopmat<float, SCOPE, BM, BN, gl_MatrixUseAccumulator> acc = coopmat<float, SCOPE, BM, BN, gl_MatrixUseAccumulator>(0.0);
#if KILN_BIAS_SUM
    #define BIAS_MAX 4     // rows per invocation, at most: BM <= 4 THREADS (Conv2dWeightGradCoopMat2.Tiles: BM BK / THREADS <= 32, BK >= 8)
    const bool sumsBias = gl_WorkGroupID.x == 0;
    float biasSum[BIAS_MAX] = float[BIAS_MAX](0.0, 0.0, 0.0, 0.0);
#endif
    if (kStart < kEnd) gather(kStart, kEnd, m0);
    for (int k0 = kStart; k0 < kEnd; k0 += BK)
    {
        barrier();                      // the previous step's product has read sA and sB
        stage();
        barrier();
        if (k0 + BK < kEnd) gather(k0 + BK, kEnd, m0);
        coopmat<float16_t, SCOPE, BM, BK, gl_MatrixUseA> ma;
        coopmat<float16_t, SCOPE, BK, BN, gl_MatrixUseB> mb;
        coopMatLoad(ma, sA, 0, LDA, gl_CooperativeMatrixLayoutRowMajor);
        coopMatLoad(mb, sB, 0, LDB, gl_CooperativeMatrixLayoutRowMajor);
        acc = coopMatMulAdd(ma, mb, acc);
#if KILN_BIAS_SUM
        if (sumsBias)
            [[unroll]] for (int i = 0; i < BIAS_MAX; i++)
            {
                int row = tid + i * THREADS;
                if (row < BM)
                    for (int c = 0; c < BK; c++) biasSum[i] += float(sA[row * LDA + c]);
            }
#endif
    }
#if KILN_BIAS_SUM
    if (sumsBias)
        [[unroll]] for (int i = 0; i < BIAS_MAX; i++)
        {
            int row = tid + i * THREADS;
            if (row < BM && m0 + row < pc.c1) db[(K_PER_SPLIT > 0 ? int(gl_WorkGroupID.z) * pc.c1 : 0) + m0 + row] = biasSum[i];
        }
#endif

    coopMatStore(acc, sC, 0, LDC, gl_CooperativeMatrixLayoutRowMajor);
    barrier();
    int base = K_PER_SPLIT > 0 ? int(gl_WorkGroupID.z) * pc.c1 * n2 : 0;
    for (int i = tid; i < BM * BN; i += THREADS)
    {
        int row = i / BN, col = i - (i / BN) * BN;
        int m = m0 + row, nn = n0 + col;
        if (m < pc.c1 && nn < n2) outv[base + m * n2 + nn] = sC[row * LDC + col];
    }
}
