#version 450
// Convolution weight gradient, register-blocked: each invocation computes a 4 (c1) x 4 (c2) block of weight
// elements for one tap (ky, kx), looping over the batch and the pixels (no atomics): dw[c1, c2l, ky, kx] = sum over b, py, px of
//   a[b, c1, py, px] * q[b, g * C2/GROUPS + c2l, py*SH - PH + ky*DH, px*SW - PW + kx*DW],  g = c1 / (C1/GROUPS).
// Conv2d: a = dY [N,Cout,OH,OW], q = x [N,Cin,H,W], dw = dW [Cout,Cin/groups,KH,KW].
// ConvTranspose2d: a = x [N,Cin,H,W], q = dY [N,Cout,OH,OW], dw = dW [Cin,Cout/groups,KH,KW].
// The pixel ranges whose tap stays inside q are computed up front, so the inner loop has no bounds checks.
// Bindings: 0 a [N,C1,AH,AW]  1 q [N,C2,QH,QW]  2 dw [C1,C2/groups,KH,KW]
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW, 8 GROUPS,
//                 9 C1, 10 C2, 11 AH, 12 AW, 13 QH, 14 QW (0 = from push constants)
// Push constants: n, c1, c2, ah, aw, qh, qw
// Dispatch: one invocation per block: GROUPS * ceil(C1/GROUPS / 4) * ceil(C2/GROUPS / 4) * KH * KW invocations,
// spread over x and y like Emitter.ElementwiseGroups, local x = 64
#include "kiln.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int SH = 1;
layout(constant_id = 3) const int SW = 1;
layout(constant_id = 4) const int PH = 0;
layout(constant_id = 5) const int PW = 0;
layout(constant_id = 6) const int DH = 1;
layout(constant_id = 7) const int DW = 1;
layout(constant_id = 8) const int GROUPS = 1;
layout(constant_id = 9) const int S_C1 = 0;
layout(constant_id = 10) const int S_C2 = 0;
layout(constant_id = 11) const int S_AH = 0;
layout(constant_id = 12) const int S_AW = 0;
layout(constant_id = 13) const int S_QH = 0;
layout(constant_id = 14) const int S_QW = 0;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer Q { float q[]; };
layout(std430, binding = 2) writeonly buffer DWt { float dw[]; };

layout(push_constant) uniform P { int n, c1, c2, ah, aw, qh, qw; } p;

// First and one-past-last position i in [0, size) with 0 <= i*s - pad + k*d < limit.
ivec2 tap_range(int size, int s, int pad, int kd, int limit)
{
    const int off = kd - pad;                      // q index = i*s + off
    const int lo = off >= 0 ? 0 : (-off + s - 1) / s;
    const int hi = limit - off <= 0 ? 0 : min(size, (limit - off + s - 1) / s);
    return ivec2(lo, max(lo, hi));
}

#define B1 4
#define B2 4

void main()
{
    const int C1 = BAKED(S_C1, p.c1), C2 = BAKED(S_C2, p.c2);
    const int AH = BAKED(S_AH, p.ah), AW = BAKED(S_AW, p.aw), QH = BAKED(S_QH, p.qh), QW = BAKED(S_QW, p.qw);
    const int c2G = C2 / GROUPS, c1G = C1 / GROUPS;
    const int blocks1 = (c1G + B1 - 1) / B1, blocks2 = (c2G + B2 - 1) / B2;
    const int idx = int(kiln_element_index());
    if (idx >= GROUPS * blocks1 * blocks2 * KH * KW) return;
    // Taps vary fastest: neighbouring invocations share c1/c2 blocks and read overlapping rows.
    const int kx = idx % KW;
    const int ky = (idx / KW) % KH;
    const int b2 = (idx / (KW * KH)) % blocks2;
    const int b1 = (idx / (KW * KH * blocks2)) % blocks1;
    const int g = idx / (KW * KH * blocks2 * blocks1);
    const int c1First = g * c1G + b1 * B1, c2lFirst = b2 * B2, c2First = g * c2G + c2lFirst;
    const int n1 = min(B1, c1G - b1 * B1), n2 = min(B2, c2G - c2lFirst);

    const ivec2 ry = tap_range(AH, SH, PH, ky * DH, QH);
    const ivec2 rx = tap_range(AW, SW, PW, kx * DW, QW);
    const int offY = ky * DH - PH, offX = kx * DW - PW;
    float acc[B1][B2];
    for (int i = 0; i < B1; i++)
        for (int j = 0; j < B2; j++) acc[i][j] = 0.0;
    for (int b = 0; b < p.n; b++)
    {
        for (int py = ry.x; py < ry.y; py++)
        {
            int aRow[B1], qRow[B2];
            // Rows of channels past the block's end repeat the last valid one: loads stay in bounds, results are dropped.
            for (int i = 0; i < B1; i++) aRow[i] = ((b * C1 + c1First + min(i, n1 - 1)) * AH + py) * AW;
            for (int j = 0; j < B2; j++) qRow[j] = ((b * C2 + c2First + min(j, n2 - 1)) * QH + py * SH + offY) * QW + offX;
            for (int px = rx.x; px < rx.y; px++)
            {
                float av[B1], qv[B2];
                for (int i = 0; i < B1; i++) av[i] = a[aRow[i] + px];
                for (int j = 0; j < B2; j++) qv[j] = q[qRow[j] + px * SW];
                for (int i = 0; i < B1; i++)
                    for (int j = 0; j < B2; j++) acc[i][j] += av[i] * qv[j];
            }
        }
    }
    for (int i = 0; i < n1; i++)
        for (int j = 0; j < n2; j++)
            dw[(((c1First + i) * c2G + c2lFirst + j) * KH + ky) * KW + kx] = acc[i][j];
}
