#version 450
// 2-D convolution forward as an implicit GEMM on workgroup-scope cooperative matrices (VK_NV_cooperative_matrix2) with
// tensor addressing, for Precision.Fp16 (stride 1, dilation 1, groups 1, NCHW):
//   Y[co, p] = act(bias[co] + sum over taps (ky, kx) and channels ci of W[co, ci, ky, kx] * X[ci, p shifted by the tap]).
// A workgroup computes one BM x BN tile of Y as one f32 accumulator: BM output channels by a TH x TW block of one image's
// output pixels (BN = TH TW, TW columns of each of TH rows). Per tap and BK input channels it loads the packed weight's
// BM x BK block (conv2d.pack_weight_f16.comp, [KH*KW, COP, CIP]) and the input's BK x BN block, which is the slice
// (image b, channels c0.., rows oy0 + ky - PH.., columns ox0 + kx - PW..) of x read as a 4-D tensor [N, C, H, W]: the
// matrix's columns run over the slice's TH x TW pixels row by row, and coordinates outside the image or past the
// channels load zero (clamp mode Constant): padding and edge tiles without a line of gather code, the driver staging
// both operands through shared memory. The accumulator starts from the bias (a view of it whose columns all read the
// same element), takes the activation per element and goes out through the same kind of slice of y, whose stores past
// its edges are dropped. Its im2col-gathering sibling conv2d.fwd_coopmat2.comp stages by hand what this one asks of the
// driver (the form lavapipe, without tensor addressing, can run).
// Variant .concat (KILN_CONCAT_READS; ConcatConv2d): x is the channel concatenation of x (C1 channels at 1 / SC1 of the
// resolution) and x2 (binding 4, the rest at 1 / SC2), each upsampled by nearest neighbour as it is loaded: a tensor
// layout whose blocks are SC x SC pixels of the full-resolution grid, each block one element of the small tensor. The
// reduction runs over x's channels (the weight's columns from 0), then over x2's (from C1). A layout's block size needs
// the device's cooperativeMatrixBlockLoads feature (DeviceInfo.CooperativeMatrix2BlockLoads; without it the host offers
// no .concat candidate).
// Variant .nhwc (KILN_NHWC; Conv2dCoopMat2TensorNhwc, inference plans with channels-last activations): x and y are
// [N, H, W, C] tensors and their slices (b, rows, columns, channels) are read and written through a view that puts the
// channels outermost, the matrices' rows. Every row of such a slice is BK (BM) channels of one pixel: where Cin is a
// multiple of 8 the operand's rows stay 16-byte aligned at every tap, where NCHW rows start one element off at the
// side taps.
// Variant .pool (KILN_POOL; ConvPool2d, inference, f16 activations): the 2 x 2, stride-2 max pool that follows is taken
// in the epilogue: the activated tile goes as f16 into shared memory ([BM][BN + 8], the pixels of each channel row by
// row), and each invocation writes the maxima of windows of it (TH and TW even: the windows never straddle tiles) into y
// [N, Cout, OH/2, OW/2] (include/pool_epilogue.glsl). Shared memory: BM (BN + 8) 2 bytes. Its .pool.keep form
// (KILN_POOL_KEEP; ConvForward.EmitWithPool) writes each window's four values too, into the unpooled output at binding 4.
// Variant .unpool (KILN_UNPOOL; a stride-1 input gradient whose layer reads a 2x2 max pool, include/unpool_epilogue.glsl):
// the tile goes as f16 into the same shared tile, and each element leaves as the pool's input gradient (y
// [N, Cout, 2 OH, 2 OW]; 4 the pool's input, 5 the addend, specialization 40 UNPOOL_SUM); ACT is the derivative to take.
// Variant .dact (KILN_ACT_GRAD; a stride-1 input gradient through Conv2dInputGradFlipped, include/act_grad_epilogue.glsl):
// each element of the accumulator leaves multiplied by the derivative of the activation ACT, read per element from the
// output of the layer before (binding 4, laid out as y) at the element's place.
// Bindings: 0 x [N,Cin,H,W] (act_t; .nhwc: [N,H,W,Cin])  1 wp [KH*KW, COP, CIP] (float16_t)  2 bias [Cout] (float; unused when HAS_BIAS=0)
//           3 y [N,Cout,OH,OW] (act_t; .pool: [N,Cout,OH/2,OW/2]; .nhwc: [N,OH,OW,Cout]; .unpool: [N,Cout,2 OH,2 OW])
//           4 x2 (.concat), the activation's output (.dact), the unpooled output (.pool.keep) or the pool's input (.unpool)
//           5 the addend (.unpool)
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW (strides and dilations 1: the host's Accepts),
//                 8 HAS_BIAS, 9 ACT, 10 SLOPE (float), 11 BM, 12 BN, 13 BK, 14 THREADS, 15 TW (TH = BN / TW),
//                 20 C1, 21 SC1, 22 SC2 (.concat: include/concat_reads.glsl)
// Push constants: n, cin, cout, h, w, oh, ow, cop, cip
// Dispatch: x = N * ceil(OH / TH) * ceil(OW / TW) pixel tiles (columns fastest), y = ceil(Cout / BM); local x = THREADS
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"
#if KILN_NHWC && (KILN_CONCAT_READS || KILN_ACT_GRAD || KILN_UNPOOL || KILN_POOL_KEEP)
// The concatenation's layouts and the gradient epilogues' indices are NCHW; no channels-last form of them exists.
#error "conv2d.fwd_coopmat2_tensor: .nhwc does not combine with .concat, .dact, .unpool or .pool.keep"
#endif

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int SH = 1;
layout(constant_id = 3) const int SW = 1;
layout(constant_id = 4) const int PH = 1;
layout(constant_id = 5) const int PW = 1;
layout(constant_id = 6) const int DH = 1;
layout(constant_id = 7) const int DW = 1;
layout(constant_id = 8) const int HAS_BIAS = 0;
layout(constant_id = 9) const int ACT = 0;
layout(constant_id = 10) const float SLOPE = 0.01;
layout(constant_id = 11) const int BM = 64;
layout(constant_id = 12) const int BN = 256;
layout(constant_id = 13) const int BK = 32;
layout(constant_id = 14) const int THREADS = 256;
layout(constant_id = 15) const int TW = 32;

const int TH = BN / TW;
const int CLAMP = gl_CooperativeMatrixClampModeConstantNV;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer Wp { float16_t wp[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { act_t y[]; };
#if KILN_CONCAT_READS
#include "concat_reads.glsl"
#endif
#if KILN_ACT_GRAD
#include "act_grad_epilogue.glsl"
#endif
#if KILN_POOL
#include "pool_epilogue.glsl"
#endif
#if KILN_UNPOOL
#include "unpool_epilogue.glsl"
#endif
#if KILN_POOL || KILN_UNPOOL
const int LDC = BN + 8;
shared float16_t sC[BM * LDC]; // the result tile (activated under .pool), f16: the activations' type under Fp16, which alone runs the kernel
#endif

layout(push_constant) uniform P { int n, cin, cout, h, w, oh, ow, cop, cip; } p;

int tileImage, tileM0, tileOy0, tileOx0; // the workgroup's tile: its image, first channel, row and column

// The epilogue of accumulator element (row, col): the activation, or under .dact the gradient through it (elements
// past y's edges are left as they are: their stores are dropped).
float activate(const in uint row, const in uint col, const in float v)
{
#if KILN_ACT_GRAD
    const int co = tileM0 + int(row), oy = tileOy0 + int(col) / TW, ox = tileOx0 + int(col) % TW;
    if (co >= p.cout || oy >= p.oh || ox >= p.ow) return v;
    return kiln_act_grad(v, ((tileImage * p.cout + co) * p.oh + oy) * p.ow + ox, ACT, SLOPE);
#else
    return kiln_activate(v, ACT, SLOPE);
#endif
}

coopmat<float, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator> acc;

// acc += the weight's block (taps t, columns w0..) times the BK x BN slice of the input t (channels c0..) at the tap.
#if KILN_NHWC
// The slice [1, TH, TW, BK] read channels outermost: matrix element (channel, pixel).
#define KILN_SLICE_LOAD(s, buf, t, c0, y0, x0, b) \
    coopMatLoadTensorNV(s, buf, 0, sliceTensorLayoutNV(t, b, 1, y0, TH, x0, TW, c0, BK), channelsFirst)
#else
#define KILN_SLICE_LOAD(s, buf, t, c0, y0, x0, b) \
    coopMatLoadTensorNV(s, buf, 0, sliceTensorLayoutNV(t, b, 1, c0, BK, y0, TH, x0, TW))
#endif
#define KILN_TENSOR_STEP(buf, t, w0, c0, tap, ky, kx, oy0, ox0, b, m0)                                                  \
    {                                                                                                                   \
        coopmat<float16_t, gl_ScopeWorkgroup, BM, BK, gl_MatrixUseA> a;                                                 \
        coopMatLoadTensorNV(a, wp, uint(tap) * uint(p.cop) * uint(p.cip), sliceTensorLayoutNV(weights, m0, BM, w0, BK)); \
        coopmat<act_t, gl_ScopeWorkgroup, BK, BN, gl_MatrixUseB> s;                                                     \
        KILN_SLICE_LOAD(s, buf, t, c0, oy0 + ky - PH, ox0 + kx - PW, b);                                                \
        acc = coopMatMulAdd(a, coopmat<float16_t, gl_ScopeWorkgroup, BK, BN, gl_MatrixUseB>(s), acc);                   \
    }

void main()
{
    const int tilesX = (p.ow + TW - 1) / TW, tilesY = (p.oh + TH - 1) / TH;
    const int tile = int(gl_WorkGroupID.x);
    const int ox0 = (tile % tilesX) * TW, oy0 = (tile / tilesX % tilesY) * TH, b = tile / (tilesX * tilesY);
    const int m0 = int(gl_WorkGroupID.y) * BM;
    tileImage = b; tileM0 = m0; tileOy0 = oy0; tileOx0 = ox0;

    if (HAS_BIAS != 0)
    {
        // Element (r, c) of the view reads bias[m0 + r]: its columns have stride 0.
        tensorLayoutNV<1, CLAMP> lb = createTensorLayoutNV(1, CLAMP);
        lb = setTensorLayoutDimensionNV(lb, p.cout);
        tensorViewNV<2, true, 0, 1> vb = createTensorViewNV(2, true, 0, 1);
        vb = setTensorViewDimensionsNV(vb, BM, BN);
        vb = setTensorViewStrideNV(vb, 1, 0);
        coopMatLoadTensorNV(acc, bias, 0, sliceTensorLayoutNV(lb, m0, BM), vb);
    }
    else acc = coopmat<float, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator>(0.0);

    tensorLayoutNV<2, CLAMP> weights = createTensorLayoutNV(2, CLAMP);
    weights = setTensorLayoutDimensionNV(weights, p.cop, p.cip);
#if KILN_NHWC
    // An [N, H, W, C] slice [1, TH, TW, C'] as a C' x (TH TW) matrix: dimension 3 (channels) outermost.
    tensorViewNV<4, false, 0, 3, 1, 2> channelsFirst = createTensorViewNV(4, false, 0, 3, 1, 2);
#endif
#if KILN_CONCAT_READS
    // x's C1 channels and x2's rest, each a tensor of blocks of SC x SC full-resolution pixels (nearest upsampling).
    tensorLayoutNV<4, CLAMP> t1 = createTensorLayoutNV(4, CLAMP);
    t1 = setTensorLayoutBlockSizeNV(t1, 1, 1, SC1, SC1);
    t1 = setTensorLayoutDimensionNV(t1, p.n, C1, p.h, p.w);
    tensorLayoutNV<4, CLAMP> t2 = createTensorLayoutNV(4, CLAMP);
    t2 = setTensorLayoutBlockSizeNV(t2, 1, 1, SC2, SC2);
    t2 = setTensorLayoutDimensionNV(t2, p.n, p.cin - C1, p.h, p.w);
    [[dont_unroll]] for (int ky = 0; ky < KH; ky++)
        [[dont_unroll]] for (int kx = 0; kx < KW; kx++)
        {
            const int tap = ky * KW + kx;
            [[dont_unroll]] for (int c0 = 0; c0 < C1; c0 += BK)
                KILN_TENSOR_STEP(x, t1, c0, c0, tap, ky, kx, oy0, ox0, b, m0)
            [[dont_unroll]] for (int c0 = 0; c0 < p.cin - C1; c0 += BK)
                KILN_TENSOR_STEP(x2, t2, C1 + c0, c0, tap, ky, kx, oy0, ox0, b, m0)
        }
#else
    tensorLayoutNV<4, CLAMP> tx = createTensorLayoutNV(4, CLAMP);
#if KILN_NHWC
    tx = setTensorLayoutDimensionNV(tx, p.n, p.h, p.w, p.cin);
#else
    tx = setTensorLayoutDimensionNV(tx, p.n, p.cin, p.h, p.w);
#endif
    [[dont_unroll]] for (int ky = 0; ky < KH; ky++)
        [[dont_unroll]] for (int kx = 0; kx < KW; kx++)
            [[dont_unroll]] for (int c0 = 0; c0 < p.cin; c0 += BK)
                KILN_TENSOR_STEP(x, tx, c0, c0, ky * KW + kx, ky, kx, oy0, ox0, b, m0)
#endif

#if KILN_UNPOOL
    // The tile as f16 (as the unfused kernel stores it), then each element as the pool's input gradient.
    coopMatStore(coopmat<float16_t, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator>(acc), sC, 0, LDC, gl_CooperativeMatrixLayoutRowMajor);
    barrier();
    for (int i = int(gl_LocalInvocationID.x); i < BM * BN; i += THREADS)
    {
        const int row = i / BN, col = i % BN, co = m0 + row, oy = oy0 + col / TW, ox = ox0 + col % TW;
        if (co < p.cout && oy < p.oh && ox < p.ow) kiln_unpool_store(float(sC[row * LDC + col]), b, co, oy, ox, p.cout, p.oh, p.ow, ACT, SLOPE);
    }
    return;
#endif
    if (ACT != ACT_NONE) coopMatPerElementNV(acc, acc, activate);
#if KILN_POOL
    coopMatStore(coopmat<float16_t, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator>(acc), sC, 0, LDC, gl_CooperativeMatrixLayoutRowMajor);
    barrier();
    const int ph = p.oh / 2, pw = p.ow / 2, QH = TH / 2, QW = TW / 2;
    for (int i = int(gl_LocalInvocationID.x); i < BM * QH * QW; i += THREADS)
    {
        // Window (qy, qx) of channel row `row`: tile pixels (2 qy, 2 qx) to (2 qy + 1, 2 qx + 1).
        const int row = i / (QH * QW), qy = i / QW % QH, qx = i % QW;
        const int co = m0 + row, py = oy0 / 2 + qy, px = ox0 / 2 + qx;
        if (co >= p.cout || py >= ph || px >= pw) continue;
        const int at = row * LDC + 2 * qy * TW + 2 * qx;
        float best = float(sC[at]);
        best = kiln_pool_max(best, float(sC[at + 1]));
        best = kiln_pool_max(best, float(sC[at + TW]));
        best = kiln_pool_max(best, float(sC[at + TW + 1]));
        y[((b * p.cout + co) * ph + py) * pw + px] = act_t(best);
#if KILN_POOL_KEEP
        // The window's four values, as the plain kernel stores them (OH and OW even: all inside y).
        const int kept0 = ((b * p.cout + co) * p.oh + 2 * py) * p.ow + 2 * px;
        kept[kept0] = act_t(sC[at]);
        kept[kept0 + 1] = act_t(sC[at + 1]);
        kept[kept0 + p.ow] = act_t(sC[at + TW]);
        kept[kept0 + p.ow + 1] = act_t(sC[at + TW + 1]);
#endif
    }
    return;
#endif
    tensorLayoutNV<4, CLAMP> ty = createTensorLayoutNV(4, CLAMP);
#if KILN_NHWC
    ty = setTensorLayoutDimensionNV(ty, p.n, p.oh, p.ow, p.cout);
    coopMatStoreTensorNV(coopmat<act_t, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator>(acc), y, 0,
                         sliceTensorLayoutNV(ty, b, 1, oy0, TH, ox0, TW, m0, BM), channelsFirst);
#else
    ty = setTensorLayoutDimensionNV(ty, p.n, p.cout, p.oh, p.ow);
    coopMatStoreTensorNV(coopmat<act_t, gl_ScopeWorkgroup, BM, BN, gl_MatrixUseAccumulator>(acc), y, 0,
                         sliceTensorLayoutNV(ty, b, 1, m0, BM, oy0, TH, ox0, TW));
#endif
}
