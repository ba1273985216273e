#version 450
// 2-D convolution forward as an implicit GEMM on tensor cores (VK_KHR_cooperative_matrix), for Precision.Fp16:
//   Y[co, p] = act(sum over k of W[co, k] * im2col(X)[k, p] + bias[co]),  k = (ci, ky, kx),  p = (image, oy, ox).
// Operands are fp16 in shared memory; products accumulate in f32 (S x S x S f16*f16+f32 subgroup matrices: S = 16 on
// NVIDIA's tensor cores, 8 on lavapipe; the device's subgroups are SGS invocations wide). Weights are
// f32 parameters, rounded to fp16 as they are staged. Activations are act_t (storage.glsl): the .f16 variant, which
// Precision.Fp16 runs, reads f16 activations straight into its registers and tiles and writes f16; the f32 build
// rounds f32 activations as it stages them. Groups must be 1.
// A workgroup has SG_M x SG_N subgroups (SG_M = 1, 2 or 4; SG_N = 2 or 4) and computes a BM = 2S * SG_M (output
// channels) by BN = 8S (pixels, over the images of the batch) tile of Y; each subgroup a 2S x (8S / SG_N) block of it as
// 2 x TN accumulators (TN = 8 / SG_N: more subgroups, fewer registers each). With S = 16: 32 * SG_M x 128 tiles.
// The reduction runs in steps of BK = 2S: the step's weight tile [BM, BK] and im2col tile [BK, BN] are loaded
// (coalesced: along k for weights, along pixels for the input) into registers while the previous step's tiles feed
// the tensor cores, then into the other of two shared buffers (one barrier per step).
// The epilogue adds the bias and activation through a per-subgroup S x S staging tile, so any Cout and pixel
// count are handled. Shared memory: 4 * BM * (BK + 8) + 4 * BK * (BN + 8) + 4 * SG_M * SG_N * S * S bytes (S = 16: at
// most 45 KiB). The register arrays hold A_PER <= 16 weights and B_PER <= 64 inputs per invocation and COLS <= 4 pixel
// columns: the host picks only tiles within them (Conv2dCoopMat.Fits). Kernels of at most 32 x 32 taps (window masks
// are 32-bit; the host checks).
// Bindings: 0 x [N,Cin,H,W] (act_t)  1 w [Cout,Cin,KH,KW] (float)  2 bias [Cout] (float; unused when HAS_BIAS=0)
//           3 y [N,Cout,OH,OW] (act_t)
//           4 x2 (the .concat variant: x is the first part of a concatenation, include/concat_reads.glsl), or the .dact
//           variant's activation output (include/act_grad_epilogue.glsl)
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW, 8 HAS_BIAS, 9 ACT, 10 SLOPE (float), 11 SG_M, 12 SG_N,
//                 13 S (the matrices' size), 14 SGS (the subgroup size)
// Push constants: n, cin, cout, h, w, oh, ow
// Dispatch: x = ceil(N * OH * OW / BN) pixel tiles, y = ceil(Cout / BM) channel tiles; local x = SGS * SG_M * SG_N
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"

#define TM 2            // accumulator rows per subgroup (S channels each)
#define TN_MAX 4        // accumulator columns per subgroup (S pixels each), at most
#define COLS_MAX 4      // pixel columns per invocation when THREADS < BN
#define A_MAX 16        // weight elements staged per invocation, at most
#define B_MAX 64        // im2col elements staged per invocation, at most

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int SH = 1;
layout(constant_id = 3) const int SW = 1;
layout(constant_id = 4) const int PH = 0;
layout(constant_id = 5) const int PW = 0;
layout(constant_id = 6) const int DH = 1;
layout(constant_id = 7) const int DW = 1;
layout(constant_id = 8) const int HAS_BIAS = 0;
layout(constant_id = 9) const int ACT = 0;
layout(constant_id = 10) const float SLOPE = 0.01;
layout(constant_id = 11) const int SG_M = 2;
layout(constant_id = 12) const int SG_N = 2;
layout(constant_id = 13) const int S = 16;
layout(constant_id = 14) const int SGS = 32;
const int TN = 8 / SG_N;

const int BM = TM * S * SG_M;   // output channels per workgroup tile
const int BN = 8 * S;           // pixels per workgroup tile: S * TN * SG_N
const int BK = 2 * S;           // reduction step
const int LDA = BK + 8;         // shared row pitches in f16 elements, padded against bank conflicts
const int LDB = BN + 8;
const int LDC = S;
const int THREADS = SGS * SG_M * SG_N;
// Input staging: each invocation owns COLS pixel columns of the im2col tile and every ROW_STEP-th of its rows.
const int COLS = THREADS >= BN ? 1 : BN / THREADS;
const int ROW_STEP = THREADS >= BN ? THREADS / BN : 1;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { act_t y[]; };
#if KILN_ACT_GRAD
// Variant *.dact (include/act_grad_epilogue.glsl): an input gradient, leaving through the derivative of the activation
// before it (ACT, SLOPE) instead of through an activation of its own.
#include "act_grad_epilogue.glsl"
#endif
#if KILN_CONCAT_READS
// Variant *.concat (include/concat_reads.glsl): x concatenated with x2, upsampled as the im2col tile is gathered.
#include "concat_reads.glsl"
#endif

layout(push_constant) uniform P { int n, cin, cout, h, w, oh, ow; } p;

const int A_SIZE = BM * LDA;
const int B_SIZE = BK * LDB;
const int C_SIZE = S * LDC;
shared float16_t As[2 * A_SIZE];         // two buffers
shared float16_t Bs[2 * B_SIZE];
shared float Cs[SG_M * SG_N * C_SIZE];  // one staging tile per subgroup

// Where an invocation's pixel columns read from: the offset of the window's top-left input element (which may lie
// outside the image), and which kernel rows (bit ky) and columns (bit kx) of the window fall inside the image; both
// masks are 0 for a column past the last pixel, so that column reads zeros.
int colOffset[COLS_MAX];
uint colRows[COLS_MAX], colCols[COLS_MAX];
#if KILN_CONCAT_READS
int colImage[COLS_MAX], colY[COLS_MAX], colX[COLS_MAX]; // the window's image and top-left input pixel
#endif

// One reduction step's tiles pass through registers: loaded from global memory before the previous step's products
// (the loads are in flight while the tensor cores work), written to shared memory after them. Loads are
// unconditional (an element outside the tensors reads element 0 and is replaced by zero), so none waits on another.
const int A_PER = BM * BK / THREADS;   // weight elements per invocation (S = 16, SGS = 32: 32 / SG_N)
const int B_PER = BK * BN / THREADS;   // im2col elements per invocation (S = 16, SGS = 32: 128 / (SG_M * SG_N))
const int B_ROWS = BK / ROW_STEP;      // im2col rows per invocation and column
float aReg[A_MAX];
act_t bReg[B_MAX]; // in the activations' type: f16 activations are not widened on the way to the tile

void load(int k0, int m0, int tid)
{
    const int K = p.cin * KH * KW;
    // Weights: BM rows of BK consecutive k, coalesced along k.
    [[unroll]] for (int q = 0; q < A_PER; q++)
    {
        const int i = tid + q * THREADS, r = i / BK, c = i % BK;
        const int m = m0 + r, k = k0 + c;
        const bool ok = m < p.cout && k < K;
        const float v = w[ok ? m * K + k : 0];
        aReg[q] = ok ? v : 0.0;
    }
    // im2col: BK rows (k) of BN pixels, coalesced along the pixels. A row's offset and kernel tap are the same for
    // every invocation; each invocation's own part is its precomputed column offset and masks.
    const int H = p.h, W = p.w;
    const int r0 = THREADS >= BN ? tid / BN : 0;
    [[unroll]] for (int rr = 0; rr < B_ROWS; rr++)
    {
        const int k = k0 + r0 + rr * ROW_STEP;
        const int ci = k / (KH * KW), t = k % (KH * KW), ky = t / KW, kx = t % KW;
        const int rowOffset = (ci * H + ky * DH) * W + kx * DW;
        [[unroll]] for (int j = 0; j < COLS; j++)
        {
            const bool inside = k < K && ((colRows[j] >> ky) & (colCols[j] >> kx) & 1u) != 0u;
#if KILN_CONCAT_READS
            const act_t v = inside ? kiln_concat_read(colImage[j], ci, colY[j] + ky * DH, colX[j] + kx * DW, p.cin, H, W) : act_t(0.0);
#else
            const act_t v = x[inside ? colOffset[j] + rowOffset : 0];
#endif
            bReg[rr * COLS + j] = inside ? v : act_t(0.0);
        }
    }
}

void store(int buf, int tid)
{
    [[unroll]] for (int q = 0; q < A_PER; q++)
    {
        const int i = tid + q * THREADS;
        As[buf * A_SIZE + (i / BK) * LDA + i % BK] = float16_t(aReg[q]);
    }
    const int r0 = THREADS >= BN ? tid / BN : 0;
    [[unroll]] for (int rr = 0; rr < B_ROWS; rr++)
        [[unroll]] for (int j = 0; j < COLS; j++)
        {
            const int c = THREADS >= BN ? tid % BN : tid + j * THREADS;
            Bs[buf * B_SIZE + (r0 + rr * ROW_STEP) * LDB + c] = float16_t(bReg[rr * COLS + j]);
        }
}

void main()
{
    const int COUT = p.cout, OH = p.oh, OW = p.ow, HW = OH * OW, NP = p.n * HW;
    const int K = p.cin * KH * KW;
    const int tid = int(gl_LocalInvocationID.x);
    const int sg = int(gl_SubgroupID), lane = int(gl_SubgroupInvocationID);
    const int sgm = sg / SG_N, sgn = sg % SG_N;
    const int m0 = int(gl_WorkGroupID.y) * BM, n0 = int(gl_WorkGroupID.x) * BN;

    [[unroll]] for (int j = 0; j < COLS; j++)
    {
        const int c = THREADS >= BN ? tid % BN : tid + j * THREADS;
        const int np = n0 + c;
        colOffset[j] = 0; colRows[j] = 0u; colCols[j] = 0u;
        if (np < NP)
        {
            const int b = np / HW, pix = np % HW, oy = pix / OW, ox = pix % OW;
            const int iy0 = oy * SH - PH, ix0 = ox * SW - PW;
            colOffset[j] = (b * p.cin * p.h + iy0) * p.w + ix0;
#if KILN_CONCAT_READS
            colImage[j] = b; colY[j] = iy0; colX[j] = ix0;
#endif
            [[unroll]] for (int ky = 0; ky < KH; ky++)
                if (iy0 + ky * DH >= 0 && iy0 + ky * DH < p.h) colRows[j] |= 1u << ky;
            [[unroll]] for (int kx = 0; kx < KW; kx++)
                if (ix0 + kx * DW >= 0 && ix0 + kx * DW < p.w) colCols[j] |= 1u << kx;
        }
    }

    coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> acc[TM][TN_MAX];
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j++)
            acc[i][j] = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(0.0);

    const int steps = (K + BK - 1) / BK;
    load(0, m0, tid);
    store(0, tid);
    barrier();
    [[dont_unroll]] for (int s = 0; s < steps; s++)
    {
        const int cur = s & 1;
        // The next step's tiles are loaded while this one is multiplied and stored into the other buffer after it;
        // the barrier at the end of the step orders both (the other buffer was last read in the previous step).
        if (s + 1 < steps) load((s + 1) * BK, m0, tid);
        [[unroll]] for (int kk = 0; kk < BK; kk += S)
        {
            coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a[TM];
            [[unroll]] for (int i = 0; i < TM; i++)
                coopMatLoad(a[i], As, uint(cur * A_SIZE + (sgm * TM * S + i * S) * LDA + kk), uint(LDA), gl_CooperativeMatrixLayoutRowMajor);
            [[unroll]] for (int j = 0; j < TN; j++)
            {
                coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> bm;
                coopMatLoad(bm, Bs, uint(cur * B_SIZE + kk * LDB + sgn * TN * S + j * S), uint(LDB), gl_CooperativeMatrixLayoutRowMajor);
                [[unroll]] for (int i = 0; i < TM; i++) acc[i][j] = coopMatMulAdd(a[i], bm, acc[i][j]);
            }
        }
        if (s + 1 < steps) store(cur ^ 1, tid);
        barrier();
    }

    // Epilogue: each accumulator through the subgroup's staging tile, then bias, activation and bounds per element.
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j++)
        {
            coopMatStore(acc[i][j], Cs, uint(sg * C_SIZE), uint(LDC), gl_CooperativeMatrixLayoutRowMajor);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            [[unroll]] for (int e = lane; e < S * S; e += SGS)
            {
                const int r = e / S, c = e % S;
                const int co = m0 + sgm * TM * S + i * S + r, np = n0 + sgn * TN * S + j * S + c;
                if (co < COUT && np < NP)
                {
                    const int b = np / HW, pix = np % HW;
                    const float bv = HAS_BIAS != 0 ? bias[co] : 0.0;
                    const int o = (b * COUT + co) * HW + pix;
#if KILN_ACT_GRAD
                    y[o] = act_t(kiln_act_grad(Cs[sg * C_SIZE + r * LDC + c] + bv, o, ACT, SLOPE));
#else
                    y[o] = act_t(kiln_activate(Cs[sg * C_SIZE + r * LDC + c] + bv, ACT, SLOPE));
#endif
                }
            }
            subgroupMemoryBarrierShared();
            subgroupBarrier();
        }
}
