#version 450
// Transposed 2-D convolution as a gather (no atomics): each destination element sums the source positions
// whose taps land on it, dst[b, co, oy, ox] = bias[co] + sum over ci (co's group), ky, kx with
// oy + PH - ky*DH = iy*SH and ox + PW - kx*DW = ix*SW of src[b, ci, iy, ix] * w[ci, co % coutG, ky, kx].
// It is ConvTranspose2d's forward (src = x, dst = y) and Conv2d's input gradient (src = dY, dst = dX, same
// weight tensor, no bias). Register-blocked: CO_BLOCK destination channels x PX_BLOCK columns (every SW-th) per invocation.
// src and dst are act_t (f16 in the .f16 variant, storage.glsl), weights and bias float; sums are f32. The .nhwc variant
// reads and writes channels-last src and dst (KILN_ACT_INDEX), the same sums in the same order.
// Bindings: 0 src [N,CS,IH,IW] (act_t; [N,IH,IW,CS] in .nhwc)  1 w [CS,CD/groups,KH,KW] (float)
//           2 bias [CD] (float; unused when HAS_BIAS=0)  3 dst [N,CD,OH,OW] (act_t; [N,OH,OW,CD] in .nhwc)
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW, 8 GROUPS, 9 HAS_BIAS, 10 ACT, 11 SLOPE (float),
//                 12 CS, 13 CD, 14 IH, 15 IW, 16 OH, 17 OW (0 = from push constants), 18 PX_BLOCK,
//                 19 CO_BLOCK (1..16)
// Push constants: n, cs, cd, ih, iw, oh, ow
// Dispatch: one invocation per (row phase, column phase, image, CO_BLOCK channels, row of the phase, PX_BLOCK columns
// of the phase), SH * SW * N * ceil(CD / CO_BLOCK) * ceil(OH / SH) * ceil(ceil(OW / SW) / PX_BLOCK) in all, spread over x and y like Emitter.ElementwiseGroups, local x = 64
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

#define CO_MAX 16
#define PX_MAX 8

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int SH = 1;
layout(constant_id = 3) const int SW = 1;
layout(constant_id = 4) const int PH = 0;
layout(constant_id = 5) const int PW = 0;
layout(constant_id = 6) const int DH = 1;
layout(constant_id = 7) const int DW = 1;
layout(constant_id = 8) const int GROUPS = 1;
layout(constant_id = 9) const int HAS_BIAS = 0;
layout(constant_id = 10) const int ACT = 0;
layout(constant_id = 11) const float SLOPE = 0.01;
layout(constant_id = 12) const int S_CS = 0;
layout(constant_id = 13) const int S_CD = 0;
layout(constant_id = 14) const int S_IH = 0;
layout(constant_id = 15) const int S_IW = 0;
layout(constant_id = 16) const int S_OH = 0;
layout(constant_id = 17) const int S_OW = 0;
layout(constant_id = 18) const int PX_BLOCK = 8;   // columns per invocation, 1..PX_MAX (the host picks one that divides OW well)
layout(constant_id = 19) const int CO_BLOCK = 8;   // channels per invocation, 1..CO_MAX

#if KILN_TEXEL_READS
// Variant *.texel (shaders/Variants.props; CompileOptions.TexelReads, the default on CPU devices such as lavapipe, where a
// storage-buffer read is a loop over the SIMD lanes and a texel fetch or uniform-buffer read a branch-free gather):
// src through an R32_SFLOAT texel view (R16_SFLOAT for f16 values), w (up to 64 KiB) from a uniform buffer (std140: four
// floats per array element).
layout(binding = 0) uniform samplerBuffer srcTexels;
#define SRC(i) texelFetch(srcTexels, i).r
#if KILN_TEXEL_WEIGHTS
// Variant *.texel_weights: a weight over 64 KiB through a texel view as well.
layout(binding = 1) uniform samplerBuffer wTexels;
#define WT(i) texelFetch(wTexels, i).r
#else
layout(std140, binding = 1) uniform Wt { vec4 w4[4096]; };
#define WT(i) w4[(i) >> 2][(i) & 3]
#endif
#else
layout(std430, binding = 0) readonly buffer Src { act_t src[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
#define SRC(i) float(src[i])
#define WT(i) w[i]
#endif
#define SRC_AT(b, c, y, x) SRC(KILN_ACT_INDEX(b, c, y, x, CS, IH, IW))
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Dst { act_t dst[]; };

layout(push_constant) uniform P { int n, cs, cd, ih, iw, oh, ow; } p;

void main()
{
    const int CS = BAKED(S_CS, p.cs), CD = BAKED(S_CD, p.cd);
    const int IH = BAKED(S_IH, p.ih), IW = BAKED(S_IW, p.iw), OH = BAKED(S_OH, p.oh), OW = BAKED(S_OW, p.ow);
    const int coBlocks = (CD + CO_BLOCK - 1) / CO_BLOCK;
    // One flat index keeps every SIMD lane of a workgroup busy even when OW is only a block or two wide. An
    // invocation's columns share one phase modulo SW (ox = phx + SW * (blk * PX_BLOCK + j)) and its row one phase
    // modulo SH, so a tap either feeds all of its outputs or none; the phases vary slowest, so neighbouring lanes
    // take the same taps and do not diverge. Order, fastest first: column block, row of the phase, image and
    // channel block, column phase, row phase.
    const int colsPerPhase = (OW + SW - 1) / SW, rowsPerPhase = (OH + SH - 1) / SH;
    const int pxBlocks = (colsPerPhase + PX_BLOCK - 1) / PX_BLOCK;
    const int perPhase = pxBlocks * rowsPerPhase * p.n * coBlocks;
    const int idx = int(kiln_element_index());
    if (idx >= perPhase * SW * SH) return;
    const int phase = idx / perPhase, rest = idx - phase * perPhase;
    const int phx = phase % SW, phy = phase / SW;
    const int ox0 = phx + SW * (rest % pxBlocks) * PX_BLOCK; // column j is ox0 + SW * j
    const int oy = phy + SH * ((rest / pxBlocks) % rowsPerPhase);
    const int nb = rest / (pxBlocks * rowsPerPhase);
    if (oy >= OH) return;
    const int b = nb / coBlocks;
    const int co0 = (nb % coBlocks) * CO_BLOCK;

    const int csG = CS / GROUPS, cdG = CD / GROUPS;
    float acc[CO_MAX][PX_MAX];
    for (int i = 0; i < CO_BLOCK; i++)
        for (int j = 0; j < PX_BLOCK; j++) acc[i][j] = 0.0;

    const int g = min(co0, CD - 1) / cdG;
    const bool sameGroup = GROUPS == 1 || (min(co0 + CO_BLOCK, CD) - 1) / cdG == g;
    for (int ky = 0; ky < KH; ky++)
    {
        const int ty = oy + PH - ky * DH;
        if (ty < 0 || ty % SH != 0) continue;
        const int iy = ty / SH;
        if (iy >= IH) continue;
        for (int kx = 0; kx < KW; kx++)
        {
            // The source column each of the PX_BLOCK destination columns reads for tap kx, or -1.
            int ix[PX_MAX];
            bool any = false;
            for (int j = 0; j < PX_BLOCK; j++)
            {
                const int tx = ox0 + SW * j + PW - kx * DW;
                ix[j] = (tx >= 0 && tx % SW == 0 && tx / SW < IW) ? tx / SW : -1;
                any = any || ix[j] >= 0;
            }
            if (!any) continue;
            if (sameGroup)
            {
                for (int c = 0; c < csG; c++)
                {
                    const int ci = g * csG + c;
                    float xv[PX_MAX];
                    for (int j = 0; j < PX_BLOCK; j++) xv[j] = ix[j] >= 0 ? SRC_AT(b, ci, iy, ix[j]) : 0.0;
                    const int wBase = (ci * cdG - g * cdG) * KH * KW + ky * KW + kx;
                    for (int i = 0; i < CO_BLOCK; i++)
                    {
                        const int co = co0 + i;
                        if (co >= CD) break;
                        const float wv = WT(wBase + co * KH * KW);
                        for (int j = 0; j < PX_BLOCK; j++) acc[i][j] += wv * xv[j];
                    }
                }
            }
            else
            {
                for (int i = 0; i < CO_BLOCK; i++)
                {
                    const int co = co0 + i;
                    if (co >= CD) break;
                    const int gi = co / cdG;
                    for (int c = 0; c < csG; c++)
                    {
                        const int ci = gi * csG + c;
                        const float wv = WT(((ci * cdG + co - gi * cdG) * KH + ky) * KW + kx);
                        for (int j = 0; j < PX_BLOCK; j++)
                            if (ix[j] >= 0) acc[i][j] += wv * SRC_AT(b, ci, iy, ix[j]);
                    }
                }
            }
        }
    }
    for (int i = 0; i < CO_BLOCK; i++)
    {
        const int co = co0 + i;
        if (co >= CD) break;
        const float bv = HAS_BIAS != 0 ? bias[co] : 0.0;
        for (int j = 0; j < PX_BLOCK; j++)
        {
            const int ox = ox0 + SW * j;
            if (ox < OW) dst[KILN_ACT_INDEX(b, co, oy, ox, CD, OH, OW)] = act_t(kiln_activate(acc[i][j] + bv, ACT, SLOPE));
        }
    }
}
