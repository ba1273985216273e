#version 450
// 2-D convolution forward as an implicit GEMM on tensor cores (VK_KHR_cooperative_matrix), for Precision.Fp16:
//   Y[co, p] = act(sum over k of W[co, k] * im2col(X)[k, p] + bias[co]),  k = (ci, ky, kx),  p = (image, oy, ox).
// Operands are rounded to fp16 as they are staged in shared memory; products accumulate in f32 (16x16x16
// f16*f16+f32 subgroup matrices); activations and weights are stored as f32. Groups must be 1.
// A workgroup has SG_M x 2 subgroups of 32 invocations (SG_M = 1, 2 or 4) and computes a BM = 32 * SG_M (output
// channels) by BN = 128 (pixels, over the images of the batch) tile of Y; each subgroup a 32 x 64 block of it as
// 2 x 4 accumulators. The reduction runs in steps of BK = 32: the step's weight tile [BM, BK] and im2col tile
// [BK, BN] are loaded (coalesced: along k for weights, along pixels for the input) into shared memory while the
// previous step's tiles feed the tensor cores (two shared buffers, one barrier per step). The epilogue adds the
// bias and activation through a per-subgroup 16x16 staging tile, so any Cout and pixel count are handled.
// Requires a subgroup size of 32 (the host checks).
// Bindings: 0 x [N,Cin,H,W]  1 w [Cout,Cin,KH,KW]  2 bias [Cout] (unused when HAS_BIAS=0)  3 y [N,Cout,OH,OW]
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW, 8 HAS_BIAS, 9 ACT, 10 SLOPE (float), 11 SG_M
// Push constants: n, cin, cout, h, w, oh, ow
// Dispatch: x = ceil(N * OH * OW / 128) pixel tiles, y = ceil(Cout / BM) channel tiles; local x = 64 * SG_M
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "kiln.glsl"

#define TM 2            // accumulator rows per subgroup (16 channels each)
#define TN 4            // accumulator columns per subgroup (16 pixels each)
#define SG_N 2          // subgroups along the pixels
#define BN 128          // pixels per workgroup tile: 16 * TN * SG_N
#define BK 32           // reduction step
#define BM_MAX 128
#define LDA (BK + 8)    // shared row pitches in f16 elements, padded against bank conflicts
#define LDB (BN + 8)
#define LDC 16

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

const int BM = 32 * SG_M;
const int THREADS = 32 * SG_M * SG_N;
// Input staging: each invocation owns COLS pixel columns of the im2col tile and every ROW_STEP-th of its rows.
const int COLS = THREADS >= BN ? 1 : BN / THREADS;
const int ROW_STEP = THREADS >= BN ? THREADS / BN : 1;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform P { int n, cin, cout, h, w, oh, ow; } p;

#define A_SIZE (BM_MAX * LDA)
#define B_SIZE (BK * LDB)
#define C_SIZE (16 * LDC)
shared float16_t As[2 * A_SIZE];   // two buffers
shared float16_t Bs[2 * B_SIZE];
shared float Cs[4 * SG_N * C_SIZE]; // one staging tile per subgroup

// Where an invocation's pixel columns read from: the image's base offset and the top-left input position of the
// window, or base -1 for a column past the last pixel.
int colBase[2], colY[2], colX[2];

void stage(int buf, int k0, int m0, int tid)
{
    const int K = p.cin * KH * KW;
    // Weights: BM rows of BK consecutive k, coalesced along k.
    for (int i = tid; i < BM * BK; i += THREADS)
    {
        const int r = i / BK, c = i % BK;
        const int m = m0 + r, k = k0 + c;
        As[buf * A_SIZE + r * LDA + c] = float16_t(m < p.cout && k < K ? w[m * K + k] : 0.0);
    }
    // im2col: BK rows (k) of BN pixels, coalesced along the pixels.
    const int H = p.h, W = p.w;
    for (int r = THREADS >= BN ? tid / BN : 0; r < BK; r += ROW_STEP)
    {
        const int k = k0 + r;
        const int ci = k / (KH * KW), t = k % (KH * KW), ky = t / KW, kx = t % KW;
        for (int j = 0; j < COLS; j++)
        {
            const int c = THREADS >= BN ? tid % BN : tid + j * THREADS;
            const int iy = colY[j] + ky * DH, ix = colX[j] + kx * DW;
            float v = 0.0;
            if (k < K && colBase[j] >= 0 && iy >= 0 && iy < H && ix >= 0 && ix < W)
                v = x[colBase[j] + (ci * H + iy) * W + ix];
            Bs[buf * B_SIZE + r * LDB + c] = float16_t(v);
        }
    }
}

void main()
{
    const int COUT = p.cout, OH = p.oh, OW = p.ow, HW = OH * OW, NP = p.n * HW;
    const int K = p.cin * KH * KW;
    const int tid = int(gl_LocalInvocationID.x);
    const int sg = tid / 32, lane = tid % 32;
    const int sgm = sg / SG_N, sgn = sg % SG_N;
    const int m0 = int(gl_WorkGroupID.y) * BM, n0 = int(gl_WorkGroupID.x) * BN;

    for (int j = 0; j < COLS; j++)
    {
        const int c = THREADS >= BN ? tid % BN : tid + j * THREADS;
        const int np = n0 + c;
        colBase[j] = -1; colY[j] = 0; colX[j] = 0;
        if (np < NP)
        {
            const int b = np / HW, pix = np % HW, oy = pix / OW, ox = pix % OW;
            colBase[j] = b * p.cin * p.h * p.w;
            colY[j] = oy * SH - PH;
            colX[j] = ox * SW - PW;
        }
    }

    coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> acc[TM][TN];
    for (int i = 0; i < TM; i++)
        for (int j = 0; j < TN; j++)
            acc[i][j] = coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0);

    const int steps = (K + BK - 1) / BK;
    stage(0, 0, m0, tid);
    barrier();
    for (int s = 0; s < steps; s++)
    {
        const int cur = s & 1;
        // Stage the next step into the other buffer while this one is multiplied; the barrier at the end of the
        // step orders both (the other buffer was last read in the previous step, before the previous barrier).
        if (s + 1 < steps) stage(cur ^ 1, (s + 1) * BK, m0, tid);
        for (int kk = 0; kk < BK; kk += 16)
        {
            coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> a[TM];
            for (int i = 0; i < TM; i++)
                coopMatLoad(a[i], As, uint(cur * A_SIZE + (sgm * TM * 16 + i * 16) * LDA + kk), uint(LDA), gl_CooperativeMatrixLayoutRowMajor);
            for (int j = 0; j < TN; j++)
            {
                coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> bm;
                coopMatLoad(bm, Bs, uint(cur * B_SIZE + kk * LDB + sgn * TN * 16 + j * 16), uint(LDB), gl_CooperativeMatrixLayoutRowMajor);
                for (int i = 0; i < TM; i++) acc[i][j] = coopMatMulAdd(a[i], bm, acc[i][j]);
            }
        }
        barrier();
    }

    // Epilogue: each accumulator through the subgroup's staging tile, then bias, activation and bounds per element.
    for (int i = 0; i < TM; i++)
        for (int j = 0; j < TN; j++)
        {
            coopMatStore(acc[i][j], Cs, uint(sg * C_SIZE), uint(LDC), gl_CooperativeMatrixLayoutRowMajor);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            for (int e = lane; e < 256; e += 32)
            {
                const int r = e / 16, c = e % 16;
                const int co = m0 + sgm * TM * 16 + i * 16 + r, np = n0 + sgn * TN * 16 + j * 16 + c;
                if (co < COUT && np < NP)
                {
                    const int b = np / HW, pix = np % HW;
                    const float bv = HAS_BIAS != 0 ? bias[co] : 0.0;
                    y[(b * COUT + co) * HW + pix] = kiln_activate(Cs[sg * C_SIZE + r * LDC + c] + bv, ACT, SLOPE);
                }
            }
            subgroupMemoryBarrierShared();
            subgroupBarrier();
        }
}
