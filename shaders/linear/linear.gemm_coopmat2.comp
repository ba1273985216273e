#version 450
// General matrix product for Linear on workgroup-scope cooperative matrices (VK_NV_cooperative_matrix2), for
// Precision.Fp16:
//   C[M,N] = act(op(A)[M,K] * op(B)[K,N] + bias[N]),
// with linear.gemm_coopmat.comp's operands, transposes, element types and split (its header): the forward y = x W^T + b,
// the backward's dX = dY W and dW = dY^T X.
// A workgroup computes one BM x BN tile of C as ONE workgroup-scope f32 accumulator (the driver spreads it over the
// subgroups). K advances BK a step: the step's A and B tiles are read into registers one step ahead (zeros past the
// edges; consecutive invocations on consecutive addresses of each operand's contiguous dimension) and stored as f16 into
// shared memory in that layout (A [BM][BK + 8], or with TRANS_A [BK][BM + 8] loaded column-major; B [BK][BN + 8], or
// with TRANS_B [BN][BK + 8] loaded column-major), two barriers a step. The accumulator goes out through a shared f32 tile:
// bias, activation and the edges per element, consecutive invocations on consecutive columns.
// With KILN_SUBGROUP_SCOPE (the .subgroup variants): subgroup-scope matrices in a one-subgroup workgroup, the form
// lavapipe of Mesa 26 runs (flexible dimensions, no workgroup scope): the same arithmetic, how the tests check it.
// Element types: 0 A (act_t), 1 B (float; act_t with KILN_B_ACT), 2 bias (uint bits of float), 3 C (act_t; float with
// KILN_C_FLOAT). Modules: linear.gemm_coopmat2, .b_act, .c_float, .b_act.c_float, .batched, .batched.b_act,
// .batched.b_act.c_float, each also .subgroup, .dact and .subgroup.dact, and .f16 builds.
// Shared memory: 2 * (BM + BN) * (BK + 8) + 4 * BM * (BN + 4) bytes. Registers: A_PER = BM BK / THREADS <= 32 and
// B_PER = BK BN / THREADS <= 32 (LinearCoopMat2.Fits).
// Bindings: 0 A  1 B  2 bias [N] (unused when HAS_BIAS=0)  3 C [M,N] (or [splits, M, N] partials)
//           4 y [M,N] (act_t), in the .dact variants only: C leaves through the derivative of ACT taken from y (include/product_epilogue.glsl)
// Specialization: 0 TRANS_A, 1 TRANS_B, 2 HAS_BIAS, 3 ACT, 4 SLOPE (float), 5 BM, 6 BN, 7 BK, 8 THREADS,
//                 9 K_PER_SPLIT (0 = no split)
// Push constants: m, n, k (the .batched variant: then batchDims[4], strideA[4], strideB[4])
// Dispatch: (ceil(M / BM), ceil(N / BN), splits, or the batch's products) workgroups, local x = THREADS
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

#define A_MAX 32
#define B_MAX 32

layout(constant_id = 0) const int TRANS_A = 0;
layout(constant_id = 1) const int TRANS_B = 0;
layout(constant_id = 2) const int HAS_BIAS = 0;
layout(constant_id = 3) const int ACT = 0;
layout(constant_id = 4) const float SLOPE = 0.01;
layout(constant_id = 5) const int BM = 64;
layout(constant_id = 6) const int BN = 64;
layout(constant_id = 7) const int BK = 32;
layout(constant_id = 8) const int THREADS = 128;
layout(constant_id = 9) const int K_PER_SPLIT = 0;

const int LDA = TRANS_A * (BM + 8) + (1 - TRANS_A) * (BK + 8);
const int LDB = TRANS_B * (BK + 8) + (1 - TRANS_B) * (BN + 8);
const int A_ROW = TRANS_A * BM + (1 - TRANS_A) * BK;
const int B_ROW = TRANS_B * BK + (1 - TRANS_B) * BN;
const int A_PER = BM * BK / THREADS;
const int B_PER = BK * BN / THREADS;
const int LDC = BN + 4;

layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer B { b_t b[]; };
layout(std430, binding = 2) readonly buffer Bias { uint biasBits[]; };
layout(std430, binding = 3) writeonly buffer C { c_t c[]; };
#include "product_epilogue.glsl"

#ifdef KILN_BATCHED
// Variant linear.gemm_coopmat2.batched (MatMul, BatchedGemm): workgroup z is a product of the batch (no split), its A
// and B matrices at the batch strides of its index (0 where an operand broadcasts), C's matrices contiguous.
layout(push_constant) uniform P { int m, n, k; int batchDims[4]; int strideA[4]; int strideB[4]; } p;
#else
layout(push_constant) uniform P { int m, n, k; } p;
#endif
// The product's A and B matrices within their buffers (the batched variant's; 0 otherwise).
int offA = 0, offB = 0;

shared float16_t As[(TRANS_A * BK + (1 - TRANS_A) * BM) * LDA];
shared float16_t Bs[(TRANS_B * BN + (1 - TRANS_B) * BK) * LDB];
shared float Cs[BM * LDC];

float16_t aReg[A_MAX];
float16_t bReg[B_MAX];

// Step k0's tiles into registers, zeros past kEnd and past M and N. Element i of a tile is row i / ROW, column
// i % ROW of its stored layout.
void load(int k0, int kEnd, int m0, int n0, int tid)
{
    [[unroll]] for (int q = 0; q < A_PER; q++)
    {
        int i = tid + q * THREADS, r = i / A_ROW, col = i % A_ROW;
        int m = m0 + (TRANS_A != 0 ? col : r), k = k0 + (TRANS_A != 0 ? r : col);
        aReg[q] = m < p.m && k < kEnd ? float16_t(float(a[offA + (TRANS_A != 0 ? k * p.m + m : m * p.k + k)])) : float16_t(0.0);
    }
    [[unroll]] for (int q = 0; q < B_PER; q++)
    {
        int i = tid + q * THREADS, r = i / B_ROW, col = i % B_ROW;
        int n = n0 + (TRANS_B != 0 ? r : col), k = k0 + (TRANS_B != 0 ? col : r);
        bReg[q] = n < p.n && k < kEnd ? float16_t(float(b[offB + (TRANS_B != 0 ? n * p.k + k : k * p.n + n)])) : float16_t(0.0);
    }
}

void store(int tid)
{
    [[unroll]] for (int q = 0; q < A_PER; q++)
    {
        int i = tid + q * THREADS;
        As[(i / A_ROW) * LDA + i % A_ROW] = aReg[q];
    }
    [[unroll]] for (int q = 0; q < B_PER; q++)
    {
        int i = tid + q * THREADS;
        Bs[(i / B_ROW) * LDB + i % B_ROW] = bReg[q];
    }
}

void main()
{
    int tid = int(gl_LocalInvocationID.x);
    int m0 = int(gl_WorkGroupID.x) * BM, n0 = int(gl_WorkGroupID.y) * BN, z = int(gl_WorkGroupID.z);
#ifdef KILN_BATCHED
    for (int d = 3, rest = z; d >= 0; d--)
    {
        int coord = rest % p.batchDims[d];
        rest /= p.batchDims[d];
        offA += coord * p.strideA[d];
        offB += coord * p.strideB[d];
    }
    int kBegin = 0, kEnd = p.k;
#else
    int chunk = K_PER_SPLIT > 0 ? K_PER_SPLIT : p.k;
    int kBegin = z * chunk, kEnd = min(p.k, kBegin + chunk);
#endif

    coopmat<float, SCOPE, BM, BN, gl_MatrixUseAccumulator> acc = coopmat<float, SCOPE, BM, BN, gl_MatrixUseAccumulator>(0.0);
    if (kBegin < kEnd) load(kBegin, kEnd, m0, n0, tid);
    for (int k0 = kBegin; k0 < kEnd; k0 += BK)
    {
        barrier();                      // the previous step's product has read As and Bs
        store(tid);
        barrier();
        if (k0 + BK < kEnd) load(k0 + BK, kEnd, m0, n0, tid);
        coopmat<float16_t, SCOPE, BM, BK, gl_MatrixUseA> am;
        coopmat<float16_t, SCOPE, BK, BN, gl_MatrixUseB> bm;
        if (TRANS_A != 0) coopMatLoad(am, As, 0, LDA, gl_CooperativeMatrixLayoutColumnMajor);
        else coopMatLoad(am, As, 0, LDA, gl_CooperativeMatrixLayoutRowMajor);
        if (TRANS_B != 0) coopMatLoad(bm, Bs, 0, LDB, gl_CooperativeMatrixLayoutColumnMajor);
        else coopMatLoad(bm, Bs, 0, LDB, gl_CooperativeMatrixLayoutRowMajor);
        acc = coopMatMulAdd(am, bm, acc);
    }

    coopMatStore(acc, Cs, 0, LDC, gl_CooperativeMatrixLayoutRowMajor);
    barrier();
#ifdef KILN_BATCHED
    int outBase = z * p.m * p.n;
#else
    int outBase = K_PER_SPLIT > 0 ? z * p.m * p.n : 0;
#endif
    for (int i = tid; i < BM * BN; i += THREADS)
    {
        int r = i / BN, col = i - (i / BN) * BN;
        int m = m0 + r, n = n0 + col;
        if (m >= p.m || n >= p.n) continue;
        float v = Cs[r * LDC + col];
        if (K_PER_SPLIT > 0) c[outBase + m * p.n + n] = c_t(v);
        else c[outBase + m * p.n + n] = c_t(kiln_product_out(v + (HAS_BIAS != 0 ? uintBitsToFloat(biasBits[n]) : 0.0), outBase + m * p.n + n));
    }
}
