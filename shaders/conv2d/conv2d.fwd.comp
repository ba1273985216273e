#version 450
// 2-D convolution forward, direct and register-blocked: each invocation computes CO_BLOCK output channels
// at PX_BLOCK consecutive output columns, reading input and weights straight from global memory (on a CPU
// device this beats shared-memory tiles; the GPU tier adds tiled variants). Activations are act_t (storage.glsl: f16 in
// the .f16 variant), weights and bias float; accumulation is f32.
// Bindings: 0 x [N,Cin,H,W] (act_t)  1 w [Cout,Cin/groups,KH,KW] (float)  2 bias [Cout] (float; unused when HAS_BIAS=0)
//           3 y [N,Cout,OH,OW] (act_t; the .pool variant: [N,Cout,OH/2,OW/2]); x and y [N,H,W,C] in the .nhwc variants
//           4 (the .dact variant, include/act_grad_epilogue.glsl) the output of the activation ACT whose gradient y leaves through,
//           or (the .pool.keep variant, include/pool_epilogue.glsl) the unpooled output [N,Cout,OH,OW] (act_t)
// Variant *.unpool (include/unpool_epilogue.glsl; an input gradient whose layer reads a 2x2 max pool): y is the pool's
// input gradient [N,Cout,2 OH,2 OW], 4 the pool's input, 5 the addend; specialization 40 UNPOOL_SUM
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW, 6 DH, 7 DW, 8 GROUPS, 9 HAS_BIAS, 10 ACT, 11 SLOPE (float),
//                 12 CIN, 13 COUT, 14 H, 15 W, 16 OH, 17 OW (0 = from push constants), 18 PX_BLOCK,
//                 19 CO_BLOCK (1..16)
// Push constants: n, cin, cout, h, w, oh, ow
// Dispatch: one invocation per (image, CO_BLOCK channels, row, PX_BLOCK columns), N * ceil(Cout / CO_BLOCK) * OH *
// ceil(OW / PX_BLOCK) in all, spread over x and y like Emitter.ElementwiseGroups, local x = 64
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
layout(constant_id = 12) const int S_CIN = 0;
layout(constant_id = 13) const int S_COUT = 0;
layout(constant_id = 14) const int S_H = 0;
layout(constant_id = 15) const int S_W = 0;
layout(constant_id = 16) const int S_OH = 0;
layout(constant_id = 17) const int S_OW = 0;
layout(constant_id = 18) const int PX_BLOCK = 8;   // columns per invocation, 1..PX_MAX (the host picks one that divides OW well)
layout(constant_id = 19) const int CO_BLOCK = 8;   // channels per invocation, 1..CO_MAX

#if KILN_TEXEL_READS
// Variant *.texel (shaders/Variants.props; CompileOptions.TexelReads, the default on CPU devices such as lavapipe, where a
// storage-buffer read is a loop over the SIMD lanes and a texel fetch or uniform-buffer read a branch-free gather):
// x through an R32_SFLOAT texel view (R16_SFLOAT for f16 activations), w (up to 64 KiB) from a uniform buffer (std140:
// four floats per array element).
layout(binding = 0) uniform samplerBuffer xt;
#define X(i) texelFetch(xt, i).r
#if KILN_TEXEL_WEIGHTS
// Variant *.texel_weights: a weight over 64 KiB through a texel view as well.
layout(binding = 1) uniform samplerBuffer wTexels;
#define W(i) texelFetch(wTexels, i).r
#else
layout(std140, binding = 1) uniform Wt { vec4 w4[4096]; };
#define W(i) w4[(i) >> 2][(i) & 3]
#endif
#else
layout(std430, binding = 0) readonly buffer Xb { act_t x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
#define X(i) float(x[i])
#define W(i) w[i]
#endif
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { act_t y[]; };
#if KILN_ACT_GRAD
#include "act_grad_epilogue.glsl"
#endif
#if KILN_UNPOOL
#include "unpool_epilogue.glsl"
#endif

layout(push_constant) uniform P { int n, cin, cout, h, w, oh, ow; } p;

#if KILN_POOL
// Variant *.pool (include/pool_epilogue.glsl): the invocation of an even row computes that row and the next, and writes
// the 2 x 2 maxima of its PX_BLOCK (even) columns (.pool.keep: and both rows); the odd rows' invocations have nothing to do.
#include "pool_epilogue.glsl"
#define POOL_ROWS 2
#else
#define POOL_ROWS 1
#endif

#if KILN_CONCAT_READS
// Variant *.concat (include/concat_reads.glsl): x concatenated with x2, upsampled on the way in. GROUPS = 1.
#include "concat_reads.glsl"
#define XAT(b, c, iy, ix) float(kiln_concat_read(b, c, iy, ix, CIN, H, W))
#else
#define XAT(b, c, iy, ix) X(KILN_ACT_INDEX(b, c, iy, ix, CIN, H, W))
#endif

void main()
{
    const int CIN = BAKED(S_CIN, p.cin), COUT = BAKED(S_COUT, p.cout);
    const int H = BAKED(S_H, p.h), W = BAKED(S_W, p.w), OH = BAKED(S_OH, p.oh), OW = BAKED(S_OW, p.ow);
    const int coBlocks = (COUT + CO_BLOCK - 1) / CO_BLOCK;
    // One flat index (column block fastest, then row, channel block, image) keeps every SIMD lane of a
    // workgroup busy even when OW is only a block or two wide.
    const int pxBlocks = (OW + PX_BLOCK - 1) / PX_BLOCK;
    const int idx = int(kiln_element_index());
    if (idx >= p.n * coBlocks * OH * pxBlocks) return;
    const int ox0 = (idx % pxBlocks) * PX_BLOCK;
    const int oy = (idx / pxBlocks) % OH;
    const int nb = idx / (pxBlocks * OH);
    const int b = nb / coBlocks;
    const int co0 = (nb % coBlocks) * CO_BLOCK;

    const int cinG = CIN / GROUPS, coutG = COUT / GROUPS;
#if KILN_POOL
    if ((oy & 1) != 0) return;
    float pooled[CO_MAX][PX_MAX / 2];
    for (int i = 0; i < CO_BLOCK; i++)
        for (int j = 0; j < PX_BLOCK / 2; j++) pooled[i][j] = -1.0 / 0.0;
#endif
    float acc[CO_MAX][PX_MAX];
    // Output row oy (and under .pool the next one too).
    for (int row = oy; row < oy + POOL_ROWS; row++)
    {
        for (int i = 0; i < CO_BLOCK; i++)
            for (int j = 0; j < PX_BLOCK; j++) acc[i][j] = 0.0;

        // A CO_BLOCK never straddles groups when coutG is a multiple of CO_BLOCK; otherwise each channel
        // finds its own group (slower path, small grouped layers only).
        const int g = min(co0, COUT - 1) / coutG;
        const bool sameGroup = GROUPS == 1 || (min(co0 + CO_BLOCK, COUT) - 1) / coutG == g;
        for (int ci = 0; ci < cinG; ci++)
        {
            for (int ky = 0; ky < KH; ky++)
            {
                const int iy = row * SH - PH + ky * DH;
                if (iy < 0 || iy >= H) continue;
                for (int kx = 0; kx < KW; kx++)
                {
                    float xv[PX_MAX];
                    for (int j = 0; j < PX_BLOCK; j++)
                    {
                        const int ix = (ox0 + j) * SW - PW + kx * DW;
                        xv[j] = 0.0;
                        if (sameGroup && ix >= 0 && ix < W)
                            xv[j] = XAT(b, g * cinG + ci, iy, ix);
                    }
                    for (int i = 0; i < CO_BLOCK; i++)
                    {
                        const int co = co0 + i;
                        if (co >= COUT) break;
                        if (sameGroup)
                        {
                            const float wv = W(((co * cinG + ci) * KH + ky) * KW + kx);
                            for (int j = 0; j < PX_BLOCK; j++) acc[i][j] += wv * xv[j];
                        }
                        else
                        {
                            const int gi = co / coutG;
                            const float wv = W(((co * cinG + ci) * KH + ky) * KW + kx);
                            for (int j = 0; j < PX_BLOCK; j++)
                            {
                                const int ix = (ox0 + j) * SW - PW + kx * DW;
                                if (ix >= 0 && ix < W) acc[i][j] += wv * XAT(b, gi * cinG + ci, iy, ix);
                            }
                        }
                    }
                }
            }
        }
        for (int i = 0; i < CO_BLOCK; i++)
        {
            const int co = co0 + i;
            if (co >= COUT) break;
            const float bv = HAS_BIAS != 0 ? bias[co] : 0.0;
            for (int j = 0; j < PX_BLOCK; j++)
            {
                const int ox = ox0 + j;
#if KILN_POOL
                const float v = kiln_activate(acc[i][j] + bv, ACT, SLOPE);
                if (ox < OW) pooled[i][j / 2] = kiln_pool_max(pooled[i][j / 2], v);
#if KILN_POOL_KEEP
                if (ox < OW) kept[KILN_ACT_INDEX(b, co, row, ox, COUT, OH, OW)] = act_t(v);
#endif
#elif KILN_UNPOOL
                if (ox < OW) kiln_unpool_store(acc[i][j] + bv, b, co, row, ox, COUT, OH, OW, ACT, SLOPE);
#elif KILN_ACT_GRAD
                const int o = KILN_ACT_INDEX(b, co, row, ox, COUT, OH, OW);
                if (ox < OW) y[o] = act_t(kiln_act_grad(acc[i][j] + bv, o, ACT, SLOPE));
#else
                if (ox < OW) y[KILN_ACT_INDEX(b, co, row, ox, COUT, OH, OW)] = act_t(kiln_activate(acc[i][j] + bv, ACT, SLOPE));
#endif
            }
        }
    }
#if KILN_POOL
    for (int i = 0; i < CO_BLOCK; i++)
    {
        const int co = co0 + i;
        if (co >= COUT) break;
        for (int j = 0; j < PX_BLOCK / 2; j++)
        {
            const int px = ox0 / 2 + j;
            if (2 * px < OW) y[KILN_ACT_INDEX(b, co, oy / 2, px, COUT, OH / 2, OW / 2)] = act_t(pooled[i][j]);
        }
    }
#endif
}
