#version 450
// Conv2d's input gradient for stride 1 as a tiled implicit GEMM (the GPU kernel; the gather of
// conv_transpose2d.fwd.comp is lavapipe's and takes every stride):
//   dx[b, g*CING + m, iy, ix] = sum over k of A[m, k] * B[k, P],  P = (b, iy, ix) over the N * H * W pixels of dx,
//   k = (co, ky, kx) = (co * KH + ky) * KW + kx over COUTG * KH * KW,
//   A[m, k] = w[g*COUTG + co, m, ky, kx],  B[k, P] = dy[b, g*COUTG + co, iy + PH - ky*DH, ix + PW - kx*DW] (0 outside dy).
// A workgroup of 256 invocations (16 x 16) computes BM = 16*TM channels x BN = 64 pixels, each invocation TM x 4
// (channels ty + 16i, pixels 4tx .. 4tx + 3). K advances BK = 32 at a time: each invocation loads 2*TM weights (a row
// of consecutive k) and 8 values of dy (64 consecutive pixels per row of k: coalesced) into registers one step ahead,
// stores them to shared memory (weights [channel][BK + 4], dy [k][64]: conflict-free stores) and multiplies from
// there with vec4 reads (4 k of a channel, 4 pixels of a k). No split: the pixels give thousands of workgroups.
// f16 gradients (the .f16 variant, storage.glsl) are widened to f32 as they are loaded: tiles and sums stay f32.
// Bindings: 0 dy [N,COUT,OH,OW] (act_t)  1 w [COUT,CIN/groups,KH,KW] (float)  2 dx [N,CIN,H,W] (act_t)
// Specialization: 0 KH, 1 KW, 2 PH, 3 PW, 4 DH, 5 DW, 6 GROUPS,
//                 7 CIN, 8 COUT, 9 H, 10 W, 11 OH, 12 OW (0 = from push constants), 13 TM (1..4)
// Push constants: n, cin, cout, h, w, oh, ow
// Dispatch: (ceil(N*H*W / 64), ceil(CIN/groups / BM), GROUPS) workgroups, local x = 256
#include "kiln.glsl"
#include "storage.glsl"

#define BK 32
#define LDA4 (BK / 4 + 1) // a weight row in vec4s (BK + 4 floats)
#define BN 64
#define TN 4
#define T_MAX 4
#define OUTSIDE (-0x10000000)

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int PH = 0;
layout(constant_id = 3) const int PW = 0;
layout(constant_id = 4) const int DH = 1;
layout(constant_id = 5) const int DW = 1;
layout(constant_id = 6) const int GROUPS = 1;
layout(constant_id = 7) const int S_CIN = 0;
layout(constant_id = 8) const int S_COUT = 0;
layout(constant_id = 9) const int S_H = 0;
layout(constant_id = 10) const int S_W = 0;
layout(constant_id = 11) const int S_OH = 0;
layout(constant_id = 12) const int S_OW = 0;
layout(constant_id = 13) const int TM = 4;

layout(std430, binding = 0) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) writeonly buffer DX { act_t dx[]; };

layout(push_constant) uniform P { int n, cin, cout, h, w, oh, ow; } p;

shared vec4 tileA[16 * T_MAX * LDA4];
shared vec4 tileB[BK * BN / 4];

// Per invocation: the k column ak of weight rows ar + 8i and the pixel lp of k rows kr + 4i it loads, that pixel's
// image offset in dy and position (pixY = OUTSIDE past the last pixel), and the values loaded for the next step.
int ak, ar, lp, kr;
int wRow[2 * T_MAX];
int pixBase, pixY, pixX;
float ra[2 * T_MAX], rb[8];

void load_step(int k0, int K, int OH, int OW, int CING, int COUTG, int g)
{
    const int taps = KH * KW;
    {
        const int k = k0 + ak;
        const int kc = min(k, K - 1), co = kc / taps, tap = kc - co * taps;
        const int off = co * CING * taps + tap;
        for (int i = 0; i < 2 * TM; i++)
        {
            const float v = w[wRow[i] + off];
            ra[i] = k < K ? v : 0.0;
        }
    }
    for (int i = 0; i < 8; i++)
    {
        const int k = k0 + kr + 4 * i;
        const int kc = min(k, K - 1), co = kc / taps, tap = kc - co * taps;
        const int oy = pixY + PH - (tap / KW) * DH, ox = pixX + PW - (tap % KW) * DW;
        const bool inside = k < K && oy >= 0 && oy < OH && ox >= 0 && ox < OW;
        const float v = float(dy[inside ? pixBase + ((g * COUTG + co) * OH + oy) * OW + ox : 0]);
        rb[i] = inside ? v : 0.0;
    }
}

void main()
{
    const int CIN = BAKED(S_CIN, p.cin), COUT = BAKED(S_COUT, p.cout);
    const int H = BAKED(S_H, p.h), W = BAKED(S_W, p.w), OH = BAKED(S_OH, p.oh), OW = BAKED(S_OW, p.ow);
    const int HW = H * W, pixels = p.n * HW;
    const int CING = CIN / GROUPS, COUTG = COUT / GROUPS, taps = KH * KW, K = COUTG * taps;
    const int g = int(gl_WorkGroupID.z);
    const int p0 = int(gl_WorkGroupID.x) * BN, m0 = int(gl_WorkGroupID.y) * 16 * TM;
    const int t = int(gl_LocalInvocationIndex);
    const int tx = t % 16, ty = t / 16;
    ak = t % BK;
    ar = t / BK;
    lp = t % BN;
    kr = t / BN;
    // Weight rows past CING repeat the last one (in bounds, never written).
    for (int i = 0; i < 2 * TM; i++) wRow[i] = (g * COUTG * CING + min(m0 + ar + 8 * i, CING - 1)) * taps;
    {
        const int P = min(p0 + lp, pixels - 1), b = P / HW, rem = P - b * HW;
        pixBase = b * COUT * OH * OW;
        pixY = p0 + lp < pixels ? rem / W : OUTSIDE;
        pixX = rem % W;
    }

    float acc[T_MAX][TN];
    for (int i = 0; i < TM; i++)
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0;

    load_step(0, K, OH, OW, CING, COUTG, g);
    for (int k0 = 0; k0 < K; k0 += BK)
    {
        barrier(); // the previous step's multiply is done with the tiles
        for (int i = 0; i < 2 * TM; i++) tileA[(ar + 8 * i) * LDA4 + ak / 4][ak % 4] = ra[i];
        for (int i = 0; i < 8; i++) tileB[(kr + 4 * i) * (BN / 4) + lp / 4][lp % 4] = rb[i];
        barrier();
        // The next step's global loads are issued before this step's multiply, which hides their latency.
        if (k0 + BK < K) load_step(k0 + BK, K, OH, OW, CING, COUTG, g);
        for (int k4 = 0; k4 < BK / 4; k4++)
        {
            vec4 av[T_MAX], bv[4];
            for (int i = 0; i < TM; i++) av[i] = tileA[(ty + 16 * i) * LDA4 + k4];
            for (int kk = 0; kk < 4; kk++) bv[kk] = tileB[(4 * k4 + kk) * (BN / 4) + tx];
            for (int kk = 0; kk < 4; kk++)
                for (int i = 0; i < TM; i++)
                    for (int j = 0; j < TN; j++) acc[i][j] = fma(av[i][kk], bv[kk][j], acc[i][j]);
        }
    }

    for (int j = 0; j < TN; j++)
    {
        const int P = p0 + 4 * tx + j;
        if (P >= pixels) break;
        const int b = P / HW, rem = P - b * HW;
        for (int i = 0; i < TM; i++)
        {
            const int m = m0 + ty + 16 * i;
            if (m < CING) dx[(b * CIN + g * CING + m) * HW + rem] = act_t(acc[i][j]);
        }
    }
}
