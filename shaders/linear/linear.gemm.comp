#version 450
// General matrix product for Linear, forward and backward: C[M,N] = act(op(A)[M,K] * op(B)[K,N] + bias[N]).
// op(A) is A [M,K] row-major, or with TRANS_A the transpose of A stored as [K,M]; op(B) is B [K,N], or with
// TRANS_B the transpose of B stored as [N,K]. Register-blocked: each invocation computes a BM x BN block of C
// (up to 8 x 8), reading A and B straight from global memory (on a CPU device this beats shared-memory tiles).
//   forward   y  = x W^T + b : A = x [batch,in], B = W [out,in] with TRANS_B
//   backward  dX = dY W      : A = dY [batch,out], B = W [out,in]
//             dW = dY^T X    : A = dY [batch,out] with TRANS_A, B = X [batch,in]  (K = batch: the reduction)
// Split K: with K_SPLIT > 0 the reduction is cut into chunks of K_SPLIT; chunk s writes its partial product
// (no bias, no activation) to C[s * M * N + ...] and shaders/reduce/partials.comp adds the chunks in order,
// then applies bias and activation. Used when there are too few blocks of C to fill every core.
// Bindings: 0 A  1 B  2 bias [N] (unused when HAS_BIAS=0)  3 C [M,N] (or [splits, M, N] partials)
//           4 y [M,N] (act_t), in the .dact variants only (linear.gemm.dact, linear.gemm.texel.dact; not batched): C, an input
//           gradient, leaves through the derivative of ACT taken from y (include/product_epilogue.glsl)
// Element types: every buffer is float in the f32 builds. In the f16-storage builds (<module>.f16, KILN_F16_STORAGE:
// CompileOptions.Precision Fp16) an operand is an activation or activation gradient (act_t) or a parameter, parameter
// gradient or partial sum (float), fixed per module by two defines (shaders/Variants.props):
//   0 A (act_t)      x, dY: always an activation
//   1 B (float)      a weight W; (act_t) with KILN_B_ACT: an activation (X in dW = dY^T X, MatMul's second input, dY)
//   2 bias (float)   declared as uint bits (read through uintBitsToFloat) so that a product without a bias can bind
//                    any operand in its place, whatever its width; only Linear's forward binds a bias (always f32)
//   3 C (act_t)      y, dX; (float) with KILN_C_FLOAT: a weight gradient dW, or split-K partial sums
// Modules: linear.gemm (B float, C act_t), linear.gemm.b_act, linear.gemm.c_float, linear.gemm.b_act.c_float, linear.gemm.dact;
// texel reads (A, B texel views, of either width): linear.gemm.texel (C act_t), linear.gemm.texel.c_float, linear.gemm.texel.dact; batched
// (MatMul): linear.gemm.batched (B float, C act_t), linear.gemm.batched.b_act, linear.gemm.batched.b_act.c_float.
// LinearGemm.StorageVariant names the variant from the operands' element types, and only where one is f16
// (so f32 plans run the modules they always did; in the f32 builds the variants are the same code).
// Specialization: 0 TRANS_A, 1 TRANS_B, 2 HAS_BIAS, 3 ACT (activation code), 4 SLOPE (float),
//                 5 M, 6 N, 7 K (0 = from push constants), 8 BM, 9 BN (1..8), 10 K_SPLIT (0 = no split)
// Push constants: m, n, k
// Dispatch: one invocation per block and chunk, splits * ceil(M / BM) * ceil(N / BN) in all, column blocks
// fastest, spread over x and y like Emitter.ElementwiseGroups, local x = 64
// Variant linear/linear.gemm.batched (KILN_BATCHED, shaders/Variants.props; MatMul): BM = BN = 4, no split, and the
// dispatch is x = ceil(N / 4) / local x, y = ceil(M / 4) / local y (local 8 x 8), z = one product per batch
// element of C (batch shape up to 4 dimensions, row-major, C's matrices contiguous); push constants add batchDims[4]
// (C's batch shape, leading 1s) and strideA[4], strideB[4] (element strides of A's and B's matrices per batch
// dimension, 0 where that operand broadcasts).
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

#define B_MAX 8
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
layout(constant_id = 5) const int S_M = 0;
layout(constant_id = 6) const int S_N = 0;
layout(constant_id = 7) const int S_K = 0;
layout(constant_id = 8) const int BM = 4;
layout(constant_id = 9) const int BN = 4;
layout(constant_id = 10) const int K_SPLIT = 0;

#if KILN_TEXEL_READS
// Variant linear/linear.gemm.texel (shaders/Variants.props; CompileOptions.TexelReads, the default on CPU devices such as
// lavapipe, where a storage-buffer read is a loop over the SIMD lanes and a texel fetch a branch-free gather): A and B
// through R32_SFLOAT texel views (R16_SFLOAT where the value is f16: Emitter.Dispatch).
layout(binding = 0) uniform samplerBuffer aTexels;
layout(binding = 1) uniform samplerBuffer bTexels;
#define A_AT(i) texelFetch(aTexels, i).r
#define B_AT(i) texelFetch(bTexels, i).r
#else
layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer B { b_t b[]; };
#define A_AT(i) float(a[i])
#define B_AT(i) float(b[i])
#endif
layout(std430, binding = 2) readonly buffer Bias { uint biasBits[]; };
layout(std430, binding = 3) writeonly buffer C { c_t c[]; };
#include "product_epilogue.glsl"

#ifdef KILN_BATCHED
layout(push_constant) uniform P { int m, n, k; int batchDims[4]; int strideA[4]; int strideB[4]; } p;
#else
layout(push_constant) uniform P { int m, n, k; } p;
#endif

void main()
{
    const int M = BAKED(S_M, p.m), N = BAKED(S_N, p.n), K = BAKED(S_K, p.k);
    const int colBlocks = (N + BN - 1) / BN, rowBlocks = (M + BM - 1) / BM;
    const int chunk = K_SPLIT > 0 ? K_SPLIT : K;
    const int splits = (K + chunk - 1) / chunk;
    int offA = 0, offB = 0, offC = 0;
#ifdef KILN_BATCHED
    const int n0 = int(gl_GlobalInvocationID.x) * BN;
    const int m0 = int(gl_GlobalInvocationID.y) * BM;
    const int split = 0;
    if (n0 >= N || m0 >= M) return;
    offC = int(gl_GlobalInvocationID.z) * M * N;
    int z = int(gl_GlobalInvocationID.z);
    for (int d = 3; d >= 0; d--)
    {
        const int coord = z % p.batchDims[d];
        z /= p.batchDims[d];
        offA += coord * p.strideA[d];
        offB += coord * p.strideB[d];
    }
#else
    const int idx = int(kiln_element_index());
    if (idx >= splits * rowBlocks * colBlocks) return;
    const int n0 = (idx % colBlocks) * BN;
    const int m0 = ((idx / colBlocks) % rowBlocks) * BM;
    const int split = idx / (colBlocks * rowBlocks);
#endif

    // Rows/columns past the edge re-read the last valid one (always in bounds) and are not stored.
    int rows[B_MAX], cols[B_MAX];
    for (int i = 0; i < BM; i++) rows[i] = min(m0 + i, M - 1);
    for (int j = 0; j < BN; j++) cols[j] = min(n0 + j, N - 1);

    float acc[B_MAX][B_MAX];
    for (int i = 0; i < BM; i++)
        for (int j = 0; j < BN; j++) acc[i][j] = 0.0;

    const int k0 = split * chunk, k1 = min(k0 + chunk, K);
    for (int kk = k0; kk < k1; kk++)
    {
        float av[B_MAX], bv[B_MAX];
        for (int i = 0; i < BM; i++) av[i] = TRANS_A != 0 ? A_AT(offA + kk * M + rows[i]) : A_AT(offA + rows[i] * K + kk);
        for (int j = 0; j < BN; j++) bv[j] = TRANS_B != 0 ? B_AT(offB + cols[j] * K + kk) : B_AT(offB + kk * N + cols[j]);
        for (int i = 0; i < BM; i++)
            for (int j = 0; j < BN; j++) acc[i][j] += av[i] * bv[j];
    }

    const int outBase = split * M * N;
    for (int i = 0; i < BM; i++)
    {
        const int m = m0 + i;
        if (m >= M) break;
        for (int j = 0; j < BN; j++)
        {
            const int n = n0 + j;
            if (n >= N) break;
            if (K_SPLIT > 0) c[outBase + m * N + n] = c_t(acc[i][j]);
            else c[offC + m * N + n] = c_t(kiln_product_out(acc[i][j] + (HAS_BIAS != 0 ? uintBitsToFloat(biasBits[n]) : 0.0), offC + m * N + n));
        }
    }
}
