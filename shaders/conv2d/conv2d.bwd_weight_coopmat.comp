#version 450
// Convolution weight gradient as an implicit GEMM on tensor cores (VK_KHR_cooperative_matrix), for Precision.Fp16:
//   dw[m, n] = sum over k of A[m, k] * B[k, n],  n = (c2, ky, kx) = (c2 * KH + ky) * KW + kx,
//   k = (b, py, px) over the N * AH * AW pixels of a,
//   A[m, k] = a[b, m, py, px],   B[k, n] = q[b, c2, py*SH - PH + ky*DH, px*SW - PW + kx*DW] (0 outside q).
// Conv2d: a = dY [N,Cout,OH,OW], q = x [N,Cin,H,W], dw = dW [Cout,Cin,KH,KW].
// ConvTranspose2d: a = x [N,Cin,H,W], q = dY [N,Cout,OH,OW], dw = dW [Cin,Cout,KH,KW]. Groups must be 1.
// Operands are fp16 in shared memory (f16 activations, the .f16 variant, go in as they are; the f32 build rounds);
// products accumulate in f32 (S x S x S f16*f16+f32 subgroup matrices: S = 16 on NVIDIA, 8 on lavapipe; the device's
// subgroups are SGS invocations wide); dw and the partial sums are f32.
// A workgroup of SG_M x SG_N subgroups computes a BM = 2S * SG_M (rows m) by BN = 8S (columns n) tile of dw, each
// subgroup a 2S x (8S / SG_N) block as 2 x TN accumulators (TN = 8 / SG_N). K advances BK = 2S pixels a step; every
// invocation owns one pixel column of the step (tid % BK: 2S consecutive pixels per 2S invocations, coalesced) and
// loads rows of A and B for it into registers one step ahead, then stores them as fp16: A as [BM][BK + 8] (row-major
// A), B transposed as [BN][BK + 8] (B read column-major), one barrier per step.
// Split-K: the pixels are cut into chunks of K_PER_SPLIT (a multiple of BK); chunk z writes out[z * C1 * N2 + ...] and
// shaders/reduce/partials.comp adds the chunks in order (K_PER_SPLIT = 0: one chunk, out is dw itself). No atomics.
// Shared memory: 4 * (BM + BN) * (BK + 8) + 4 * SG_M * SG_N * S * S bytes. Registers: at most 16 values of A and 64
// of B per invocation (the host picks only tiles within them: Conv2dWeightGradCoopMat.Fits).
// Variant *.bias (KILN_BIAS_SUM; Conv2d, whose a is dY: the bias gradient is A's row sums): the workgroups of the first
// column tile also add up the rows of every staged A tile (the f16 values the products take), invocation tid the rows
// tid, tid + THREADS, ... (at most BIAS_MAX), and write them into db (or slice z of its [splits, C1] partials), so no
// pass of its own reads dY for the bias.
// Bindings: 0 a [N,C1,AH,AW] (act_t)  1 q [N,C2,QH,QW] (act_t)  2 out [splits, C1, C2 * KH * KW] (float)
//           3 x2 (the .concat variant: q is the first part of a concatenation, include/concat_reads.glsl)
//           after those, in the .bias variant: db [C1] or partials [splits, C1] (float)
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW, 8 SG_M, 9 SG_N, 10 S, 11 SGS,
//                 12 K_PER_SPLIT (0 = no split)
// Push constants: n, c1, c2, ah, aw, qh, qw
// Dispatch: (ceil(C2*KH*KW / BN), ceil(C1 / BM), splits) workgroups, local x = SGS * SG_M * SG_N
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"

#define TM 2
#define TN_MAX 4
#define A_MAX 16
#define B_MAX 64

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int SH = 1;
layout(constant_id = 3) const int SW = 1;
layout(constant_id = 4) const int PH = 0;
layout(constant_id = 5) const int PW = 0;
layout(constant_id = 6) const int DH = 1;
layout(constant_id = 7) const int DW = 1;
layout(constant_id = 8) const int SG_M = 2;
layout(constant_id = 9) const int SG_N = 2;
layout(constant_id = 10) const int S = 16;
layout(constant_id = 11) const int SGS = 32;
layout(constant_id = 12) const int K_PER_SPLIT = 0;
const int TN = 8 / SG_N;

const int BM = TM * S * SG_M;
const int BN = 8 * S;
const int BK = 2 * S;
const int LDS = BK + 8;         // shared row pitch in f16 elements, padded against bank conflicts
const int LDC = S;
const int THREADS = SGS * SG_M * SG_N;
const int ROWS = THREADS / BK;  // tile rows one pass of the workgroup loads (THREADS is a multiple of BK)
const int A_PER = BM / ROWS;    // A rows per invocation
const int B_PER = BN / ROWS;    // B rows per invocation

layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer Q { act_t q[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
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

const int A_SIZE = BM * LDS;
const int B_SIZE = BN * LDS;
const int C_SIZE = S * LDC;
shared float16_t As[2 * A_SIZE];
shared float16_t Bs[2 * B_SIZE];
shared float Cs[SG_M * SG_N * C_SIZE];

act_t aReg[A_MAX];
act_t bReg[B_MAX];

// Loads step k0's A and B values of this invocation's pixel column into registers (zeros past the chunk's end, past
// the matrices' edges, and outside q). Loads are unconditional (an element outside reads element 0 and is replaced).
void load(int k0, int kEnd, int m0, int n0, int tid)
{
    const int AHW = p.ah * p.aw, QHW = p.qh * p.qw, N2 = p.c2 * KH * KW;
    const int col = tid % BK, row0 = tid / BK;
    const int k = k0 + col;
    const bool live = k < kEnd;
    const int b = live ? k / AHW : 0, pix = live ? k % AHW : 0;
    const int py = pix / p.aw, px = pix % p.aw;
    const int iy0 = py * SH - PH, ix0 = px * SW - PW;
    const int aBase = b * p.c1 * AHW + pix, qBase = b * p.c2 * QHW;
    [[unroll]] for (int i = 0; i < A_PER; i++)
    {
        const int m = m0 + row0 + i * ROWS;
        const bool ok = live && m < p.c1;
        const act_t v = a[ok ? aBase + m * AHW : 0];
        aReg[i] = ok ? v : act_t(0.0);
    }
    [[unroll]] for (int j = 0; j < B_PER; j++)
    {
        const int nn = n0 + row0 + j * ROWS;
        const int c2 = nn / (KH * KW), t = nn % (KH * KW), ky = t / KW, kx = t % KW;
        const int iy = iy0 + ky * DH, ix = ix0 + kx * DW;
        const bool ok = live && nn < N2 && iy >= 0 && iy < p.qh && ix >= 0 && ix < p.qw;
#if KILN_CONCAT_READS
        const act_t v = ok ? kiln_concat_read(b, c2, iy, ix, p.c2, p.qh, p.qw) : act_t(0.0);
#else
        const act_t v = q[ok ? qBase + c2 * QHW + iy * p.qw + ix : 0];
#endif
        bReg[j] = ok ? v : act_t(0.0);
    }
}

void store(int buf, int tid)
{
    const int col = tid % BK, row0 = tid / BK;
    [[unroll]] for (int i = 0; i < A_PER; i++) As[buf * A_SIZE + (row0 + i * ROWS) * LDS + col] = float16_t(aReg[i]);
    [[unroll]] for (int j = 0; j < B_PER; j++) Bs[buf * B_SIZE + (row0 + j * ROWS) * LDS + col] = float16_t(bReg[j]);
}

void main()
{
    const int N2 = p.c2 * KH * KW, K = p.n * p.ah * p.aw;
    const int tid = int(gl_LocalInvocationID.x);
    const int sg = int(gl_SubgroupID), lane = int(gl_SubgroupInvocationID);
    const int sgm = sg / SG_N, sgn = sg % SG_N;
    const int n0 = int(gl_WorkGroupID.x) * BN, m0 = int(gl_WorkGroupID.y) * BM, z = int(gl_WorkGroupID.z);
    const int chunk = K_PER_SPLIT > 0 ? K_PER_SPLIT : K;
    const int kBegin = z * chunk, kEnd = min(K, kBegin + chunk);

    coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> acc[TM][TN_MAX];
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j++)
            acc[i][j] = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(0.0);

#if KILN_BIAS_SUM
    #define BIAS_MAX 4     // rows per invocation, at most: BM <= THREADS (Conv2dWeightGradCoopMat.Fits: BM BK / THREADS <= 16, BK = 2S >= 16)
    const bool sumsBias = gl_WorkGroupID.x == 0;
    float biasSum[BIAS_MAX] = float[BIAS_MAX](0.0, 0.0, 0.0, 0.0);
#endif
    const int steps = (kEnd - kBegin + BK - 1) / BK;
    load(kBegin, kEnd, m0, n0, tid);
    store(0, tid);
    barrier();
    [[dont_unroll]] for (int s = 0; s < steps; s++)
    {
        const int cur = s & 1;
        // The next step's values are loaded while this one is multiplied, stored into the other buffer after it; the
        // barrier at the end of the step orders both (the other buffer was last read in the previous step).
        if (s + 1 < steps) load(kBegin + (s + 1) * BK, kEnd, m0, n0, tid);
        [[unroll]] for (int kk = 0; kk < BK; kk += S)
        {
            coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> am[TM];
            [[unroll]] for (int i = 0; i < TM; i++)
                coopMatLoad(am[i], As, uint(cur * A_SIZE + (sgm * TM * S + i * S) * LDS + kk), uint(LDS), gl_CooperativeMatrixLayoutRowMajor);
            [[unroll]] for (int j = 0; j < TN; j++)
            {
                coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> bm;
                coopMatLoad(bm, Bs, uint(cur * B_SIZE + (sgn * TN * S + j * S) * LDS + kk), uint(LDS), gl_CooperativeMatrixLayoutColumnMajor);
                [[unroll]] for (int i = 0; i < TM; i++) acc[i][j] = coopMatMulAdd(am[i], bm, acc[i][j]);
            }
        }
#if KILN_BIAS_SUM
        if (sumsBias)
            [[unroll]] for (int i = 0; i < BIAS_MAX; i++)
            {
                const int row = tid + i * THREADS;
                if (row < BM)
                    for (int c = 0; c < BK; c++) biasSum[i] += float(As[cur * A_SIZE + row * LDS + c]);
            }
#endif
        if (s + 1 < steps) store(cur ^ 1, tid);
        barrier();
    }
#if KILN_BIAS_SUM
    if (sumsBias)
        [[unroll]] for (int i = 0; i < BIAS_MAX; i++)
        {
            const int row = tid + i * THREADS;
            if (row < BM && m0 + row < p.c1) db[(K_PER_SPLIT > 0 ? z * p.c1 : 0) + m0 + row] = biasSum[i];
        }
#endif

    // Each accumulator through the subgroup's staging tile into dw (or chunk z's partial sums), within the edges.
    const int outBase = K_PER_SPLIT > 0 ? z * p.c1 * N2 : 0;
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j++)
        {
            coopMatStore(acc[i][j], Cs, uint(sg * C_SIZE), uint(LDC), gl_CooperativeMatrixLayoutRowMajor);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            [[unroll]] for (int e = lane; e < S * S; e += SGS)
            {
                const int r = e / S, c = e % S;
                const int m = m0 + sgm * TM * S + i * S + r, nn = n0 + sgn * TN * S + j * S + c;
                if (m < p.c1 && nn < N2) outv[outBase + m * N2 + nn] = Cs[sg * C_SIZE + r * LDC + c];
            }
            subgroupMemoryBarrierShared();
            subgroupBarrier();
        }
}
