#version 450
// General matrix product for Linear on tensor cores (VK_KHR_cooperative_matrix), for Precision.Fp16:
//   C[M,N] = act(op(A)[M,K] * op(B)[K,N] + bias[N]),
// op(A) = A [M,K] row-major, or with TRANS_A the transpose of A stored [K,M]; op(B) = B [K,N], or with TRANS_B the
// transpose of B stored [N,K] (linear.gemm.comp's conventions):
//   forward   y  = x W^T + b : A = x [batch,in], B = W [out,in] with TRANS_B
//   backward  dX = dY W      : A = dY [batch,out], B = W [out,in]
//             dW = dY^T X    : A = dY [batch,out] with TRANS_A, B = X [batch,in]  (K = batch, split)
// Operands are fp16 in shared memory; products accumulate in f32 (S x S x S f16*f16+f32 subgroup matrices: S = 16 on
// NVIDIA's tensor cores, 8 on lavapipe; the device's subgroups are SGS invocations wide). f16 operands (the .f16
// variant, which Precision.Fp16 runs) go into the tiles as they are; f32 ones (weights, or every operand in the f32
// build) are rounded as they are staged.
// A workgroup of SG_M x SG_N subgroups computes a BM = TM S SG_M by BN = TN S SG_N tile of C, each subgroup a TM S x
// TN S block of it as TM x TN accumulators. K advances BK = 2S a step: the step's A and B tiles are loaded into
// registers while the previous step's tiles feed the tensor cores, then stored into the other of two shared buffers
// (one barrier per step). Loads are coalesced in every transpose case: consecutive invocations read consecutive
// addresses along the operand's contiguous dimension, and the tile keeps that layout in shared memory (A [BM][BK + 8]
// read row-major, or with TRANS_A [BK][BM + 8] read column-major; B [BK][BN + 8] row-major, or with TRANS_B
// [BN][BK + 8] column-major; 8 f16 of padding per row against bank conflicts).
// The epilogue goes through a per-subgroup S x S f32 staging tile: bias, activation and the edges per element.
// Split K: with K_PER_SPLIT > 0 (a multiple of BK) chunk z (workgroup z) reduces K rows [z K_PER_SPLIT, ...) and writes
// its partial product (no bias, no activation) to C[z * M * N + ...] as f32; shaders/reduce/partials.comp adds the
// chunks in order, then applies bias and activation. No atomics.
// Element types (header of linear.gemm.comp; shaders/Variants.props; LinearGemm.StorageVariant names the module):
//   0 A (act_t)      x, dY
//   1 B (float)      a weight W; (act_t) with KILN_B_ACT: an activation (X in dW = dY^T X)
//   2 bias (float)   declared as uint bits so that a product without a bias can bind any operand in its place
//   3 C (act_t)      y, dX; (float) with KILN_C_FLOAT: a weight gradient dW, or split-K partial sums
//   4 y (act_t)      in the .dact variant only: C, an input gradient, leaves through the derivative of ACT taken from y
//                    (include/product_epilogue.glsl)
// Modules: linear.gemm_coopmat, .b_act, .c_float, .b_act.c_float, .batched, .batched.b_act, .batched.b_act.c_float,
// .dact, and their .f16 builds.
// Shared memory: 4 * (BM + BN) * (BK + 8) + 4 * SG_M * SG_N * S * S bytes at most. Registers: A_PER = BM BK / THREADS
// <= 32 values of A and B_PER = BK BN / THREADS <= 32 of B staged per invocation, each an exact share (the host picks
// only tiles within them: LinearCoopMat.Fits). Indices are 32-bit: A, B and C are tensors (at most 2^31 elements
// each), and the host keeps the partial sums within LinearCoopMat.MaxPartialValues.
// Bindings: 0 A  1 B  2 bias [N] (unused when HAS_BIAS=0)  3 C [M,N] (or [splits, M, N] partials)
// Specialization: 0 TRANS_A, 1 TRANS_B, 2 HAS_BIAS, 3 ACT (activation code), 4 SLOPE (float), 5 SG_M, 6 SG_N, 7 TM,
//                 8 TN, 9 S (the matrices' size), 10 SGS (the subgroup size), 11 K_PER_SPLIT (0 = no split)
// Push constants: m, n, k (the .batched variant: then batchDims[4], strideA[4], strideB[4])
// Dispatch: (ceil(M / BM), ceil(N / BN), splits, or the batch's products) workgroups, local x = SGS * SG_M * SG_N
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"

#define TM_MAX 4
#define TN_MAX 4
#define A_MAX 32
#define B_MAX 32
#ifdef KILN_B_ACT
#define b_t act_t
#else
#define b_t float
#endif
#ifdef KILN_C_FLOAT
#define c_t float
#else
#define c_t act_t
#endif

layout(constant_id = 0) const int TRANS_A = 0;
layout(constant_id = 1) const int TRANS_B = 0;
layout(constant_id = 2) const int HAS_BIAS = 0;
layout(constant_id = 3) const int ACT = 0;
layout(constant_id = 4) const float SLOPE = 0.01;
layout(constant_id = 5) const int SG_M = 2;
layout(constant_id = 6) const int SG_N = 2;
layout(constant_id = 7) const int TM = 2;
layout(constant_id = 8) const int TN = 2;
layout(constant_id = 9) const int S = 16;
layout(constant_id = 10) const int SGS = 32;
layout(constant_id = 11) const int K_PER_SPLIT = 0;

const int BM = TM * S * SG_M;
const int BN = TN * S * SG_N;
const int BK = 2 * S;
const int THREADS = SGS * SG_M * SG_N;
// Shared row pitches (f16 elements) and tile sizes for either layout of each operand (TRANS_* is 0 or 1).
const int LDA = TRANS_A * (BM + 8) + (1 - TRANS_A) * (BK + 8);
const int LDB = TRANS_B * (BK + 8) + (1 - TRANS_B) * (BN + 8);
const int A_SIZE = TRANS_A * BK * (BM + 8) + (1 - TRANS_A) * BM * (BK + 8);
const int B_SIZE = TRANS_B * BN * (BK + 8) + (1 - TRANS_B) * BK * (BN + 8);
const int LDC = S;
const int C_SIZE = S * LDC;
// The loads' row length: the operand's contiguous dimension within the tile.
const int A_ROW = TRANS_A * BM + (1 - TRANS_A) * BK;
const int B_ROW = TRANS_B * BK + (1 - TRANS_B) * BN;
const int A_PER = BM * BK / THREADS;
const int B_PER = BK * BN / THREADS;

layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer B { b_t b[]; };
layout(std430, binding = 2) readonly buffer Bias { uint biasBits[]; };
layout(std430, binding = 3) writeonly buffer C { c_t c[]; };
#include "product_epilogue.glsl"

#ifdef KILN_BATCHED
// Variant linear.gemm_coopmat.batched (MatMul, BatchedGemm): workgroup z is a product of the batch (no split), its A and
// B matrices at the batch strides of its index (0 where an operand broadcasts), C's matrices contiguous.
layout(push_constant) uniform P { int m, n, k; int batchDims[4]; int strideA[4]; int strideB[4]; } p;
#else
layout(push_constant) uniform P { int m, n, k; } p;
#endif
// The product's A and B matrices within their buffers (the batched variant's; 0 otherwise).
int offA = 0, offB = 0;

shared float16_t As[2 * A_SIZE];
shared float16_t Bs[2 * B_SIZE];
shared float Cs[SG_M * SG_N * C_SIZE];

act_t aReg[A_MAX];
b_t bReg[B_MAX];

// Step k0's tiles into registers, zeros past kEnd (the chunk's end) and past M and N. Element i of a tile is row
// i / ROW, column i % ROW of its stored layout, so consecutive invocations read consecutive addresses. Loads are
// unconditional (an element outside reads element 0 and is replaced), so none waits on another.
void load(int k0, int kEnd, int m0, int n0, int tid)
{
    const int M = p.m, N = p.n, K = p.k;
    [[unroll]] for (int q = 0; q < A_PER; q++)
    {
        const int i = tid + q * THREADS, r = i / A_ROW, col = i % A_ROW;
        const int m = m0 + (TRANS_A != 0 ? col : r), k = k0 + (TRANS_A != 0 ? r : col);
        const bool ok = m < M && k < kEnd;
        const act_t v = a[ok ? offA + (TRANS_A != 0 ? k * M + m : m * K + k) : 0];
        aReg[q] = ok ? v : act_t(0.0);
    }
    [[unroll]] for (int q = 0; q < B_PER; q++)
    {
        const int i = tid + q * THREADS, r = i / B_ROW, col = i % B_ROW;
        const int n = n0 + (TRANS_B != 0 ? r : col), k = k0 + (TRANS_B != 0 ? col : r);
        const bool ok = n < N && k < kEnd;
        const b_t v = b[ok ? offB + (TRANS_B != 0 ? n * K + k : k * N + n) : 0];
        bReg[q] = ok ? v : b_t(0.0);
    }
}

void store(int buf, int tid)
{
    [[unroll]] for (int q = 0; q < A_PER; q++)
    {
        const int i = tid + q * THREADS;
        As[buf * A_SIZE + (i / A_ROW) * LDA + i % A_ROW] = float16_t(aReg[q]);
    }
    [[unroll]] for (int q = 0; q < B_PER; q++)
    {
        const int i = tid + q * THREADS;
        Bs[buf * B_SIZE + (i / B_ROW) * LDB + i % B_ROW] = float16_t(bReg[q]);
    }
}

void main()
{
    const int M = p.m, N = p.n, K = p.k;
    const int tid = int(gl_LocalInvocationID.x);
    const int sg = int(gl_SubgroupID), lane = int(gl_SubgroupInvocationID);
    const int sgm = sg / SG_N, sgn = sg % SG_N;
    const int m0 = int(gl_WorkGroupID.x) * BM, n0 = int(gl_WorkGroupID.y) * BN, z = int(gl_WorkGroupID.z);
#ifdef KILN_BATCHED
    for (int d = 3, rest = z; d >= 0; d--)
    {
        const int coord = rest % p.batchDims[d];
        rest /= p.batchDims[d];
        offA += coord * p.strideA[d];
        offB += coord * p.strideB[d];
    }
    const int kBegin = 0, kEnd = K;
#else
    const int chunk = K_PER_SPLIT > 0 ? K_PER_SPLIT : K;
    const int kBegin = z * chunk, kEnd = min(K, kBegin + chunk);
#endif

    coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> acc[TM_MAX][TN_MAX];
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j++)
            acc[i][j] = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(0.0);

    const int steps = (kEnd - kBegin + BK - 1) / BK;
    load(kBegin, kEnd, m0, n0, tid);
    store(0, tid);
    barrier();
    [[dont_unroll]] for (int s = 0; s < steps; s++)
    {
        const int cur = s & 1;
        // The next step's tiles are loaded while this one is multiplied and stored into the other buffer after it;
        // the barrier at the end of the step orders both (the other buffer was last read in the previous step).
        if (s + 1 < steps) load(kBegin + (s + 1) * BK, kEnd, m0, n0, tid);
        [[unroll]] for (int kk = 0; kk < BK; kk += S)
        {
            coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> am[TM_MAX];
            [[unroll]] for (int i = 0; i < TM; i++)
            {
                const int row = sgm * TM * S + i * S;
                if (TRANS_A != 0)
                    coopMatLoad(am[i], As, uint(cur * A_SIZE + kk * LDA + row), uint(LDA), gl_CooperativeMatrixLayoutColumnMajor);
                else
                    coopMatLoad(am[i], As, uint(cur * A_SIZE + row * LDA + kk), uint(LDA), gl_CooperativeMatrixLayoutRowMajor);
            }
            [[unroll]] for (int j = 0; j < TN; j++)
            {
                const int col = sgn * TN * S + j * S;
                coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> bm;
                if (TRANS_B != 0)
                    coopMatLoad(bm, Bs, uint(cur * B_SIZE + col * LDB + kk), uint(LDB), gl_CooperativeMatrixLayoutColumnMajor);
                else
                    coopMatLoad(bm, Bs, uint(cur * B_SIZE + kk * LDB + col), uint(LDB), gl_CooperativeMatrixLayoutRowMajor);
                [[unroll]] for (int i = 0; i < TM; i++) acc[i][j] = coopMatMulAdd(am[i], bm, acc[i][j]);
            }
        }
        if (s + 1 < steps) store(cur ^ 1, tid);
        barrier();
    }

    // Each accumulator through the subgroup's staging tile into C (or chunk z's partial sums), within the edges.
#ifdef KILN_BATCHED
    const int outBase = z * M * N;
#else
    const int outBase = K_PER_SPLIT > 0 ? z * M * N : 0;
#endif
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j++)
        {
            coopMatStore(acc[i][j], Cs, uint(sg * C_SIZE), uint(LDC), gl_CooperativeMatrixLayoutRowMajor);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            [[unroll]] for (int e = lane; e < S * S; e += SGS)
            {
                const int r = e / S, col = e % S;
                const int m = m0 + sgm * TM * S + i * S + r, n = n0 + sgn * TN * S + j * S + col;
                if (m < M && n < N)
                {
                    const float v = Cs[sg * C_SIZE + r * LDC + col];
                    if (K_PER_SPLIT > 0) c[outBase + m * N + n] = c_t(v);
                    else c[outBase + m * N + n] = c_t(kiln_product_out(v + (HAS_BIAS != 0 ? uintBitsToFloat(biasBits[n]) : 0.0), outBase + m * N + n));
                }
            }
            subgroupMemoryBarrierShared();
            subgroupBarrier();
        }
}
