#version 450
// 2-D convolution forward for layers with few output channels (at most CO_MAX = 8: a network's last layer, the
// denoiser's 64 -> 3), where the direct kernel's invocations, a few pixels by all the output channels each, read every
// input value from global memory once per kernel tap:
//   Y[b, co, oy, ox] = act(bias[co] + sum over ci, ky, kx of W[co, ci, ky, kx] * X[b, ci, oy SH - PH + ky DH, ox SW - PW + kx DW]).
// A workgroup computes a TH x TW tile of one image's output pixels for all COUT channels. The input channels run in
// steps of CK: each step stages the tile's input patch, PR = (TH - 1) SH + (KH - 1) DH + 1 rows by
// PC = (TW - 1) SW + (KW - 1) DW + 1 columns of CK channels (zero outside the image and past Cin), and the step's
// weights, [CK][KH * KW][CO_MAX], in shared memory (two barriers a step). Invocation (r, cx) computes PX consecutive
// pixels of tile row r from column cx for every output channel: per channel and kernel row it reads the SEG input
// values its pixels' taps span into registers once, then takes every tap's product from them, each weight a value all
// invocations read at once (a broadcast). The sums run over ci, then ky, then kx, in f32.
// Activations are act_t (storage.glsl: f16 in the .f16 variant), the weight and the bias float.
// Variant .dact (KILN_ACT_GRAD, include/act_grad_epilogue.glsl): each output leaves multiplied by the derivative of the
// activation ACT read from the output of the layer before (binding 4, laid out as y): an input gradient through it.
// Variant .nhwc (KILN_NHWC): x and y (and the .dact binding) are [N,H,W,C]; the patch is staged a pixel's CK channels
// at a time (one run of global memory), into the same shared layout: the same sums in the same order.
// Shared memory: (CK PR PC + CK KH KW CO_MAX) * 4 bytes (8 channels, 8 x 64 pixels, 3x3, stride 1: 22.9 KiB).
// Bindings: 0 x [N,Cin,H,W] (act_t)  1 w [COUT,Cin,KH,KW] (float)  2 bias [COUT] (float; unused when HAS_BIAS=0)
//           3 y [N,COUT,OH,OW] (act_t)  4 (.dact) the activation's output [N,COUT,OH,OW] (act_t)
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW, 8 HAS_BIAS, 9 ACT, 10 SLOPE (float), 11 COUT
//                 (1..CO_MAX), 12 TH, 13 TW, 14 PX (1..PX_MAX, divides TW), 15 CK
// Push constants: n, cin, cout, h, w, oh, ow
// Dispatch: x = N * ceil(OH / TH) * ceil(OW / TW) tiles (columns fastest); local x = TH * TW / PX
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"

#define CO_MAX 8
#define PX_MAX 4
#define SEG_MAX 16

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
layout(constant_id = 11) const int COUT = 3;
layout(constant_id = 12) const int TH = 8;
layout(constant_id = 13) const int TW = 64;
layout(constant_id = 14) const int PX = 4;
layout(constant_id = 15) const int CK = 8;

const int TAPS = KH * KW;
const int PR = (TH - 1) * SH + (KH - 1) * DH + 1, PC = (TW - 1) * SW + (KW - 1) * DW + 1;
const int THREADS = TH * TW / PX;
const int SEG = (PX - 1) * SW + (KW - 1) * DW + 1; // input columns an invocation's pixels span per kernel row

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { act_t y[]; };
#if KILN_ACT_GRAD
#include "act_grad_epilogue.glsl"
#endif

layout(push_constant) uniform P { int n, cin, cout, h, w, oh, ow; } p;

shared float Xs[CK * PR * PC]; // the step's patch: [CK][PR][PC]
shared float Ws[CK * TAPS * CO_MAX]; // the step's weights: [CK][TAPS][CO_MAX]

void main()
{
    const int tid = int(gl_LocalInvocationID.x);
    const int tilesX = (p.ow + TW - 1) / TW, tilesY = (p.oh + TH - 1) / TH;
    const int tile = int(gl_WorkGroupID.x);
    const int ox0 = (tile % tilesX) * TW, oy0 = (tile / tilesX % tilesY) * TH, b = tile / (tilesX * tilesY);
    const int r = tid / (TW / PX), cx = (tid % (TW / PX)) * PX; // this invocation's tile row and first column
    const int iy0 = oy0 * SH - PH, ix0 = ox0 * SW - PW;          // the patch's origin in x

    float acc[CO_MAX][PX_MAX];
    [[unroll]] for (int co = 0; co < CO_MAX; co++)
        [[unroll]] for (int q = 0; q < PX_MAX; q++) acc[co][q] = 0.0;

    [[dont_unroll]] for (int c0 = 0; c0 < p.cin; c0 += CK)
    {
        for (int e = tid; e < CK * PR * PC; e += THREADS)
        {
#if KILN_NHWC
            const int c = e % CK, pixel = e / CK, iy = iy0 + pixel / PC, ix = ix0 + pixel % PC, ci = c0 + c;
            const int slot = c * PR * PC + pixel;
#else
            const int c = e / (PR * PC), iy = iy0 + e / PC % PR, ix = ix0 + e % PC, ci = c0 + c;
            const int slot = e;
#endif
            const bool inside = ci < p.cin && iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
            const float v = float(x[inside ? KILN_ACT_INDEX(b, ci, iy, ix, p.cin, p.h, p.w) : 0]);
            Xs[slot] = inside ? v : 0.0;
        }
        for (int e = tid; e < CK * TAPS * COUT; e += THREADS)
        {
            const int c = e / (TAPS * COUT), t = e / COUT % TAPS, co = e % COUT, ci = c0 + c;
            Ws[(c * TAPS + t) * CO_MAX + co] = ci < p.cin ? w[(co * p.cin + ci) * TAPS + t] : 0.0;
        }
        barrier();
        [[dont_unroll]] for (int c = 0; c < CK; c++)
            [[unroll]] for (int ky = 0; ky < KH; ky++)
            {
                float seg[SEG_MAX];
                const int row = (c * PR + r * SH + ky * DH) * PC + cx * SW;
                [[unroll]] for (int s = 0; s < SEG; s++) seg[s] = Xs[row + s];
                [[unroll]] for (int kx = 0; kx < KW; kx++)
                {
                    const int wb = (c * TAPS + ky * KW + kx) * CO_MAX;
                    [[unroll]] for (int q = 0; q < PX; q++)
                    {
                        const float v = seg[q * SW + kx * DW];
                        [[unroll]] for (int co = 0; co < COUT; co++) acc[co][q] += Ws[wb + co] * v;
                    }
                }
            }
        barrier();
    }

    const int oy = oy0 + r;
    if (oy >= p.oh) return;
    [[unroll]] for (int q = 0; q < PX; q++)
    {
        const int ox = ox0 + cx + q;
        if (ox >= p.ow) break;
        [[unroll]] for (int co = 0; co < COUT; co++)
        {
            const int i = KILN_ACT_INDEX(b, co, oy, ox, COUT, p.oh, p.ow);
            const float v = acc[co][q] + (HAS_BIAS != 0 ? bias[co] : 0.0);
#if KILN_ACT_GRAD
            y[i] = act_t(kiln_act_grad(v, i, ACT, SLOPE));
#else
            y[i] = act_t(kiln_activate(v, ACT, SLOPE));
#endif
        }
    }
}
