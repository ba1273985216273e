#version 450
// General matrix product for Linear on the GPU's f32 units, tiled through shared memory:
//   C[M,N] = act(op(A)[M,K] * op(B)[K,N] + bias[N]),
// with linear.gemm.comp's operands, transposes, element types, variants and split (its header): A [M,K] or with TRANS_A
// [K,M]; B [K,N] or with TRANS_B [N,K]; K_SPLIT > 0 writes chunk s's partial product to C[s * M * N + ...] for
// reduce/partials to add in order with the bias and activation. A workgroup computes a BM x BN tile of C (a warp's
// columns consecutive: its stores along C's rows), the operands staged through shared memory by include/tiled_gemm.glsl,
// each loaded along its contiguous dimension; accumulation is f32.
// Bindings: 0 A (act_t)  1 B (float; act_t with KILN_B_ACT)  2 bias (uint bits of float)  3 C (act_t; float with KILN_C_FLOAT)
//           4 y (act_t), in the .dact variant only: C leaves through the derivative of ACT taken from y (include/product_epilogue.glsl)
// Specialization: 0 TRANS_A, 1 TRANS_B, 2 HAS_BIAS, 3 ACT, 4 SLOPE (float), 5 BM, 6 BN, 7 TM, 8 TN (TM, TN <= 8),
//                 9 BK, 10 K_SPLIT (0 = no split)
// Push constants: m, n, k
// Dispatch: (ceil(N / BN), ceil(M / BM), splits) workgroups, local x = (BM / TM) (BN / TN)
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"

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
layout(constant_id = 5) const int BM = 64;
layout(constant_id = 6) const int BN = 64;
layout(constant_id = 7) const int TM = 4;
layout(constant_id = 8) const int TN = 4;
layout(constant_id = 9) const int BK = 16;
layout(constant_id = 10) const int K_SPLIT = 0;

// Each operand's slice loads along its contiguous dimension: A [M,K] and B^T [N,K] along k, A^T and B along M or N.
const bool A_K_INNER = TRANS_A == 0, B_K_INNER = TRANS_B != 0;
#include "tiled_gemm.glsl"

layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer B { b_t b[]; };
layout(std430, binding = 2) readonly buffer Bias { uint biasBits[]; };
layout(std430, binding = 3) writeonly buffer C { c_t c[]; };
#include "product_epilogue.glsl"
layout(push_constant) uniform P { int m, n, k; } p;

int m0, n0, k1; // the workgroup's tile and the end of its chunk of K

void tiled_load(int k0, int tid)
{
    [[unroll]] for (int q = 0; q < A_PER; q++)
    {
        const int e = tid + q * THREADS;
        const ivec2 s = tiled_slot(e, BM, A_K_INNER);
        const int k = k0 + s.x, m = m0 + s.y;
        const bool inside = e < BM * BK && k < k1 && m < p.m;
        const act_t v = a[inside ? (TRANS_A != 0 ? k * p.m + m : m * p.k + k) : 0];
        aStaged[q] = inside ? float(v) : 0.0;
    }
    [[unroll]] for (int q = 0; q < B_PER; q++)
    {
        const int e = tid + q * THREADS;
        const ivec2 s = tiled_slot(e, BN, B_K_INNER);
        const int k = k0 + s.x, n = n0 + s.y;
        const bool inside = e < BN * BK && k < k1 && n < p.n;
        const b_t v = b[inside ? (TRANS_B != 0 ? n * p.k + k : k * p.n + n) : 0];
        bStaged[q] = inside ? float(v) : 0.0;
    }
}

void main()
{
    const int tid = int(gl_LocalInvocationID.x);
    const int tx = tid % RX, ty = tid / RX;
    n0 = int(gl_WorkGroupID.x) * BN;
    m0 = int(gl_WorkGroupID.y) * BM;
    const int split = int(gl_WorkGroupID.z);
    const int k0 = K_SPLIT > 0 ? split * K_SPLIT : 0;
    k1 = K_SPLIT > 0 ? min(k0 + K_SPLIT, p.k) : p.k;

    float acc[T_MAX][T_MAX];
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j++) acc[i][j] = 0.0;
    tiled_gemm(k0, (k1 - k0 + BK - 1) / BK, tid, acc);

    [[unroll]] for (int i = 0; i < TM; i++)
    {
        const int m = m0 + ty + i * RY;
        if (m >= p.m) continue;
        [[unroll]] for (int j = 0; j < TN; j++)
        {
            const int n = n0 + tx + j * RX;
            if (n >= p.n) continue;
            if (K_SPLIT > 0) c[split * p.m * p.n + m * p.n + n] = c_t(acc[i][j]);
            else c[m * p.n + n] = c_t(kiln_product_out(acc[i][j] + (HAS_BIAS != 0 ? uintBitsToFloat(biasBits[n]) : 0.0), m * p.n + n));
        }
    }
}
