#version 450
// Convolution weight gradient as an implicit GEMM per kernel tap on workgroup-scope cooperative matrices
// (VK_NV_cooperative_matrix2) with tensor addressing, for Precision.Fp16 (stride 1, dilation 1, groups 1, NCHW):
//   dw[m, n, ky, kx] = sum over images b and pixels (py, px) of a of a[b, m, py, px] * q[b, n, py + ky - PH, px + kx - PW]
// (0 outside q). Conv2d: a = dY [N,Cout,OH,OW], q = x [N,Cin,H,W], dw = dW [Cout,Cin,KH,KW]. ConvTranspose2d: a = x,
// q = dY, dw = dW [Cin,Cout,KH,KW].
// A workgroup computes one tap's BM x BN tile of dw (rows m0.., columns n0..) as one f32 accumulator, the reduction
// running over a run of pixel tiles, each TH x TW pixels of one image (BK = TH TW, TW columns of each of TH rows). Per
// pixel tile it loads a's BM x BK block, the slice (image b, channels m0.., rows py0.., columns px0..) of a read as a
// 4-D tensor [N, C1, AH, AW], and q's BK x BN block, the slice (b, channels n0.., rows py0 + ky - PH.., columns
// px0 + kx - PW..) of q through a view that permutes the channels innermost, so its rows run over the pixels in a's
// order and its columns over the channels. Coordinates outside the tensors load zero (clamp mode Constant): the padding
// and the edge tiles without a line of gather code; the driver stages both operands through shared memory. Its
// sibling conv2d.bwd_weight_coopmat2.comp gathers the im2col slice by hand for all taps at once.
// Split-K: tiles are cut into runs of TILES_PER_SPLIT; run s writes slice s of out [splits, C1, C2, KH*KW] and
// shaders/reduce/partials.comp adds the runs in order (TILES_PER_SPLIT = 0: one run, out is dw itself). No atomics.
// Variant *.bias (KILN_BIAS_SUM; Conv2d, whose a is dY: the bias gradient is a's row sums): the workgroups of tap 0 and
// the first column tile also multiply each staged a block by a BK x ONES matrix of ones, whose product's columns are the
// rows' sums of the f16 values the products take, and store one column into db [C1] (or slice s of its [splits, C1]
// partials), so no pass of its own reads dY for the bias.
// Bindings: 0 a [N,C1,AH,AW] (act_t)  1 q [N,C2,QH,QW] (act_t)  2 out [splits, C1, C2 * KH * KW] (float)
//           3 (.bias) db [C1] or partials [splits, C1] (float)
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW (strides and dilations 1: the host's Accepts),
//                 8 BM, 9 BN, 10 BK, 11 THREADS, 12 TILES_PER_SPLIT (0 = no split), 13 TW (TH = BK / TW),
//                 14 ONES (the columns of .bias's matrix of ones: the device's flexible granularity N for the workgroup)
// Push constants: n, c1, c2, ah, aw, qh, qw
// Dispatch: (ceil(C2 / BN), ceil(C1 / BM), KH * KW * splits) workgroups (z = split * KH * KW + tap), local x = THREADS
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"

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
layout(constant_id = 10) const int BK = 64;
layout(constant_id = 11) const int THREADS = 256;
layout(constant_id = 12) const int TILES_PER_SPLIT = 0;
layout(constant_id = 13) const int TW = 32;
layout(constant_id = 14) const int ONES = 16;

const int TH = BK / TW;
const int CLAMP = gl_CooperativeMatrixClampModeConstantNV;

layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer Q { act_t q[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
#if KILN_BIAS_SUM
layout(std430, binding = 3) writeonly buffer Db { float db[]; };
#endif

layout(push_constant) uniform P { int n, c1, c2, ah, aw, qh, qw; } pc;

void main()
{
    const int taps = KH * KW;
    const int tap = int(gl_WorkGroupID.z) % taps, split = int(gl_WorkGroupID.z) / taps;
    const int ky = tap / KW, kx = tap % KW;
    const int n0 = int(gl_WorkGroupID.x) * BN, m0 = int(gl_WorkGroupID.y) * BM;
    const int tilesX = (pc.aw + TW - 1) / TW, tilesY = (pc.ah + TH - 1) / TH, total = pc.n * tilesY * tilesX;
    const int first = TILES_PER_SPLIT > 0 ? split * TILES_PER_SPLIT : 0;
    const int end = TILES_PER_SPLIT > 0 ? min(total, first + TILES_PER_SPLIT) : total;

    tensorLayoutNV<4, CLAMP> ta = createTensorLayoutNV(4, CLAMP);
    ta = setTensorLayoutDimensionNV(ta, pc.n, pc.c1, pc.ah, pc.aw);
    tensorLayoutNV<4, CLAMP> tq = createTensorLayoutNV(4, CLAMP);
    tq = setTensorLayoutDimensionNV(tq, pc.n, pc.c2, pc.qh, pc.qw);
    // q's slice [1, BN, TH, TW] read with its channels innermost: matrix element (pixel, channel).
    tensorViewNV<4, false, 0, 2, 3, 1> channelsLast = createTensorViewNV(4, false, 0, 2, 3, 1);

    coopmat<float, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator> acc = coopmat<float, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator>(0.0);
#if KILN_BIAS_SUM
    const bool sums = tap == 0 && n0 == 0; // uniform in the workgroup
    coopmat<float, gl_ScopeWorkgroup, BM, ONES, gl_MatrixUseAccumulator> rowSums = coopmat<float, gl_ScopeWorkgroup, BM, ONES, gl_MatrixUseAccumulator>(0.0);
    coopmat<float16_t, gl_ScopeWorkgroup, BK, ONES, gl_MatrixUseB> ones = coopmat<float16_t, gl_ScopeWorkgroup, BK, ONES, gl_MatrixUseB>(1.0);
#endif

    [[dont_unroll]] for (int t = first; t < end; t++)
    {
        const int px0 = (t % tilesX) * TW, py0 = (t / tilesX % tilesY) * TH, b = t / (tilesX * tilesY);
        coopmat<act_t, gl_ScopeWorkgroup, BM, BK, gl_MatrixUseA> la;
        coopMatLoadTensorNV(la, a, 0, sliceTensorLayoutNV(ta, b, 1, m0, BM, py0, TH, px0, TW));
        coopmat<act_t, gl_ScopeWorkgroup, BK, BN, gl_MatrixUseB> lq;
        coopMatLoadTensorNV(lq, q, 0, sliceTensorLayoutNV(tq, b, 1, n0, BN, py0 + ky - PH, TH, px0 + kx - PW, TW), channelsLast);
        coopmat<float16_t, gl_ScopeWorkgroup, BM, BK, gl_MatrixUseA> ma = coopmat<float16_t, gl_ScopeWorkgroup, BM, BK, gl_MatrixUseA>(la);
        acc = coopMatMulAdd(ma, coopmat<float16_t, gl_ScopeWorkgroup, BK, BN, gl_MatrixUseB>(lq), acc);
#if KILN_BIAS_SUM
        if (sums) rowSums = coopMatMulAdd(ma, ones, rowSums);
#endif
    }

    // Slice `split` of out [splits, C1, C2, taps]: element (row, column) to (m0 + row, n0 + column, tap); stores past
    // C1 or C2 are dropped.
    const int splits = TILES_PER_SPLIT > 0 ? (total + TILES_PER_SPLIT - 1) / TILES_PER_SPLIT : 1;
    tensorLayoutNV<4, CLAMP> tout = createTensorLayoutNV(4, CLAMP);
    tout = setTensorLayoutDimensionNV(tout, splits, pc.c1, pc.c2, taps);
    coopMatStoreTensorNV(acc, outv, 0, sliceTensorLayoutNV(tout, split, 1, m0, BM, n0, BN, tap, 1));
#if KILN_BIAS_SUM
    if (sums)
    {
        // Column 0 of the row sums into slice `split` of db [splits, C1].
        tensorLayoutNV<2, CLAMP> tdb = createTensorLayoutNV(2, CLAMP);
        tdb = setTensorLayoutDimensionNV(tdb, splits, pc.c1);
        tensorViewNV<2, false> column = createTensorViewNV(2, false);
        column = setTensorViewClipNV(column, 0, BM, 0, 1);
        coopMatStoreTensorNV(rowSums, db, 0, sliceTensorLayoutNV(tdb, split, 1, m0, BM), column);
    }
#endif
}
