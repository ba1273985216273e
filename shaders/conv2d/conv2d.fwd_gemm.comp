#version 450
// 2-D convolution forward as an implicit GEMM on the GPU's f32 units (groups 1, any kernel, stride, padding, dilation):
//   Y[co, p] = act(bias[co] + sum over k of W[co, k] * X^[k, p]),
// the product of the weight read as a Cout x K matrix (K = Cin KH KW, row-major as the weight is stored) and the input's
// im2col matrix X^ (K x P, P = N OH OW output pixels; X^[(ci, ky, kx), (b, oy, ox)] = x[b, ci, oy SH + ky DH - PH,
// ox SW + kx DW - PW], zero outside the image), never written: each step stages a BK-deep slice of both into shared
// memory. A workgroup computes a BM x BN tile of Y (output channels by flattened pixels, so that small images and
// large batches fill tiles as large images do); each of its (BM / TM) x (BN / TN) invocations a TM x TN block of it,
// rows BM / TM apart and columns BN / TN apart (a warp's columns consecutive pixels: its loads and stores along rows);
// the staging and the products are include/tiled_gemm.glsl's. Accumulation is f32; activations are act_t (storage.glsl).
// Its place: the layers the direct kernel (conv2d.fwd) serves poorly on a GPU, many channels at few pixels (an
// autoencoder's strided layers, a UNet's deepest levels) and the output phases of strided input gradients and
// transposed convolutions (Conv2dInputGradPhases), where each phase is a stride-1 convolution of dY writing every
// s-th pixel; timed against the other entries (ConvForward, EntryTuning).
// Variant .phases (KILN_PHASES; Conv2dInputGradPhases): every output phase of a strided layer's input gradient (or of a
// transposed convolution) in one dispatch, phase z = gl_WorkGroupID.z = ry SW + rx: specialization 0..7 are the layer's
// geometry (include/phases.glsl derives each phase's taps, dilation and padding from it), x is dY, OH x OW the whole
// dX, the phase's pixels (oy, ox) go to (oy SH + ry, ox SW + rx), and w holds every phase's turned taps one phase after
// the other (conv2d.flip_weight's PHASES form); a phase without taps writes act(bias), or zero. The phases write
// disjoint pixels of dX, so they run as one dispatch without a barrier between them.
// Variant .nhwc (KILN_NHWC; with .dact and .phases forms): x and y channels-last [N,H,W,C] (KILN_ACT_INDEX), the same
// products summed in the same order.
// Bindings: 0 x [N,Cin,H,W] (act_t)  1 w [Cout,Cin,KH,KW] (float)  2 bias [Cout] (float; unused when HAS_BIAS=0)
//           3 y [N,Cout,OH,OW] (act_t); with the output phase, every OSH-th row from ORY and OSW-th column from ORX of a
//           FULL_H x FULL_W output
//           4 (the .dact variant, include/act_grad_epilogue.glsl) the output of the activation ACT whose gradient y leaves through
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW (may be negative: a phase's), 6 DH, 7 DW, 8 HAS_BIAS, 9 ACT,
//                 10 SLOPE (float), 11 BM, 12 BN, 13 TM, 14 TN (TM, TN <= 8; BN divides the invocations), 15 BK,
//                 16 OSH, 17 OSW, 18 ORY, 19 ORX, 23 FULL_H, 24 FULL_W (the output phase: 0 stands for 1 and for OH, OW),
//                 20..22 unused (the ids the .concat variants of other forward kernels take)
// Push constants: n, cin, cout, h, w, oh, ow
// Dispatch: x = ceil(N OH OW / BN) pixel tiles, y = ceil(Cout / BM) channel tiles; local x = (BM / TM) (BN / TN)
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"
#if KILN_PHASES
#include "phases.glsl"
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
layout(constant_id = 12) const int BN = 64;
layout(constant_id = 13) const int TM = 4;
layout(constant_id = 14) const int TN = 4;
layout(constant_id = 15) const int BK = 16;
layout(constant_id = 16) const int OSH = 0;
layout(constant_id = 17) const int OSW = 0;
layout(constant_id = 18) const int ORY = 0;
layout(constant_id = 19) const int ORX = 0;
layout(constant_id = 23) const int FULL_H = 0;
layout(constant_id = 24) const int FULL_W = 0;

// The weight's slice loads along k (its rows are contiguous), the im2col slice along the pixels (one per invocation).
const bool A_K_INNER = true, B_K_INNER = false;
#include "tiled_gemm.glsl"
#if KILN_PHASES
// The phase's stride-1 convolution (main sets them) and where its weight starts in w.
int tapsW, taps, dilH, dilW, padH, padW, weightOffset;
const int strideH = 1, strideW = 1;
#else
const int tapsW = KW, taps = KH * KW, dilH = DH, dilW = DW, padH = PH, padW = PW, strideH = SH, strideW = SW, weightOffset = 0;
#endif

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { act_t y[]; };
#if KILN_ACT_GRAD
#include "act_grad_epilogue.glsl"
#endif

layout(push_constant) uniform P { int n, cin, cout, h, w, oh, ow; } p;

// The workgroup's first output channel; this invocation's column of the im2col slices (one pixel: BN divides THREADS,
// so element tid + q THREADS is always column tid % BN): its image, the top-left input pixel of its window, whether it
// exists.
int m0, pixImage, pixY0, pixX0;
bool pixValid;

void tiled_load(int k0, int tid)
{
    const int K = p.cin * taps;
    [[unroll]] for (int q = 0; q < A_PER; q++)
    {
        const int e = tid + q * THREADS;
        const ivec2 s = tiled_slot(e, BM, A_K_INNER);
        const int k = k0 + s.x, m = m0 + s.y;
        aStaged[q] = e < BM * BK && m < p.cout && k < K ? w[weightOffset + m * K + k] : 0.0;
    }
    [[unroll]] for (int q = 0; q < B_PER; q++)
    {
        const int e = tid + q * THREADS;
        const int kk = tiled_slot(e, BN, B_K_INNER).x, k = k0 + kk;
        const int tt = max(taps, 1), ci = k / tt, t = k % tt, iy = pixY0 + (t / max(tapsW, 1)) * dilH, ix = pixX0 + (t % max(tapsW, 1)) * dilW;
        const bool inside = pixValid && kk < BK && k < K && iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
        const act_t v = x[inside ? KILN_ACT_INDEX(pixImage, ci, iy, ix, p.cin, p.h, p.w) : 0];
        bStaged[q] = inside ? float(v) : 0.0;
    }
}

void main()
{
    const int tid = int(gl_LocalInvocationID.x);
    const int tx = tid % RX, ty = tid / RX;
    const int n0 = int(gl_WorkGroupID.x) * BN;
    m0 = int(gl_WorkGroupID.y) * BM;
#if KILN_PHASES
    // This workgroup's phase: its taps and grid (include/phases.glsl), and the phases' weights before its own.
    const int phase = int(gl_WorkGroupID.z), ry = phase / SW, rx = phase % SW;
    weightOffset = 0;
    for (int z = 0; z < phase; z++)
        weightOffset += p.cout * p.cin * kiln_phase_axis(z / SW, SH, DH, PH, KH, p.oh).n * kiln_phase_axis(z % SW, SW, DW, PW, KW, p.ow).n;
    const KilnPhaseAxis ay = kiln_phase_axis(ry, SH, DH, PH, KH, p.oh), ax = kiln_phase_axis(rx, SW, DW, PW, KW, p.ow);
    taps = ay.n * ax.n;
    tapsW = ax.n;
    dilH = ay.dil;
    dilW = ax.dil;
    padH = ay.pad;
    padW = ax.pad;
    const int gridH = ay.q, gridW = ax.q, osh = SH, osw = SW, ory = ry, orx = rx, fh = p.oh, fw = p.ow;
#else
    const int gridH = p.oh, gridW = p.ow, osh = max(OSH, 1), osw = max(OSW, 1), ory = ORY, orx = ORX;
    const int fh = FULL_H != 0 ? FULL_H : p.oh, fw = FULL_W != 0 ? FULL_W : p.ow;
#endif
    const int plane = gridH * gridW, pixels = p.n * plane;
    if (n0 >= pixels) return; // a phase smaller than the grid (uniform in the workgroup)

    const int pix = n0 + tid % BN;
    pixValid = pix < pixels;
    pixImage = pix / max(plane, 1);
    pixY0 = (pix % max(plane, 1)) / max(gridW, 1) * strideH - padH;
    pixX0 = pix % max(gridW, 1) * strideW - padW;

    float acc[T_MAX][T_MAX];
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j++) acc[i][j] = 0.0;

    tiled_gemm(0, (p.cin * taps + BK - 1) / BK, tid, acc);

    [[unroll]] for (int j = 0; j < TN; j++)
    {
        const int q = n0 + tx + j * RX;
        if (q >= pixels) continue;
        const int b = q / plane, oy = (q % plane) / gridW * osh + ory, ox = q % gridW * osw + orx;
        [[unroll]] for (int i = 0; i < TM; i++)
        {
            const int co = m0 + ty + i * RY;
            if (co >= p.cout) continue;
            const float v = acc[i][j] + (HAS_BIAS != 0 ? bias[co] : 0.0);
            const int o = KILN_ACT_INDEX(b, co, oy, ox, p.cout, fh, fw);
#if KILN_ACT_GRAD
            y[o] = act_t(kiln_act_grad(v, o, ACT, SLOPE));
#else
            y[o] = act_t(kiln_activate(v, ACT, SLOPE));
#endif
        }
    }
}
