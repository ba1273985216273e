#version 450
// A UNet decoder's 3x3 convolution (stride 1, padding 1) of Concat(Upsample(a, 2x nearest), b), either order, by output
// phase with the direct kernel's blocking (Conv2dDirectSubPixel; conv2d.fwd_coopmat2's .subpixel variant does the same
// on tensor cores). At output pixel (2i + py, 2j + px) the upsampled channels' 3x3 taps fall on the 2x2 pixels
// (i + ty + py - 1, j + tx + px - 1) of a, with weights summed from the 3x3 ones, so a's channels cost 4 products a
// pixel where they cost 9. An invocation computes CO_BLOCK output channels at PX_BLOCK columns of one output row that
// share a column phase (2j + px for j = j0 ..): a's channels through the phase's 2x2 taps at a's resolution, then b's
// through the 3x3 at full resolution, read straight from global memory, accumulated in f32.
// Bindings: 0 x (act_t)  1 wd (float; conv2d.subpixel_weight.comp, FORM 2: [COUT, CA, 4 phases, 2, 2] of a's channels,
//           then [COUT, CB, 3, 3] of b's)  2 bias [COUT] (float; unused when HAS_BIAS = 0)  3 y [N, COUT, OH, OW] (act_t)
//           4 x2 (act_t): x is the concatenation's first input, x2 its second (include/concat_reads.glsl), and SC1, SC2
//           say which is a; x, x2 and y [N, H, W, C] in the .nhwc variant
// Specialization: 0 HAS_BIAS, 1 ACT, 2 SLOPE (float), 3 PX_BLOCK (1..8), 4 CO_BLOCK (1..16), 20 C1, 21 SC1, 22 SC2
// Push constants: n, cin, cout, oh, ow (the output's size, the concatenation's)
// Dispatch: one invocation per (image, CO_BLOCK channels, row, column phase, PX_BLOCK columns of it), N * ceil(COUT /
// CO_BLOCK) * OH * 2 * ceil(OW / 2 / PX_BLOCK) in all, spread over x and y like Emitter.ElementwiseGroups, local x = 64
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

#define CO_MAX 16
#define PX_MAX 8

layout(constant_id = 0) const int HAS_BIAS = 0;
layout(constant_id = 1) const int ACT = 0;
layout(constant_id = 2) const float SLOPE = 0.01;
layout(constant_id = 3) const int PX_BLOCK = 8;
layout(constant_id = 4) const int CO_BLOCK = 8;

layout(std430, binding = 0) readonly buffer Xb { act_t x[]; };
layout(std430, binding = 1) readonly buffer Wd { float wd[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { act_t y[]; };
#include "concat_reads.glsl"

layout(push_constant) uniform P { int n, cin, cout, oh, ow; } p;

void main()
{
    const int OH = p.oh, OW = p.ow, GW = OW / 2, H = OH / 2;
    const int CA = SC1 != 1 ? C1 : p.cin - C1, CB = p.cin - CA;
    const int coBlocks = (p.cout + CO_BLOCK - 1) / CO_BLOCK, pxBlocks = (GW + PX_BLOCK - 1) / PX_BLOCK;
    const int idx = int(kiln_element_index());
    if (idx >= p.n * coBlocks * OH * 2 * pxBlocks) return;
    const int j0 = (idx % pxBlocks) * PX_BLOCK;
    const int px = (idx / pxBlocks) % 2;
    const int oy = (idx / (2 * pxBlocks)) % OH;
    const int nb = idx / (2 * pxBlocks * OH);
    const int b = nb / coBlocks, co0 = (nb % coBlocks) * CO_BLOCK;
    const int i = oy / 2, py = oy % 2, phase = py * 2 + px;
    const bool aFirst = SC1 != 1;

    float acc[CO_MAX][PX_MAX];
    for (int k = 0; k < CO_BLOCK; k++)
        for (int j = 0; j < PX_BLOCK; j++) acc[k][j] = 0.0;

    // a: the phase's 2x2 taps over the small tensor.
    for (int c = 0; c < CA; c++)
        for (int ty = 0; ty < 2; ty++)
        {
            const int iy = i + ty + py - 1;
            if (iy < 0 || iy >= H) continue;
            for (int tx = 0; tx < 2; tx++)
            {
                float xv[PX_MAX];
                for (int j = 0; j < PX_BLOCK; j++)
                {
                    const int ix = j0 + j + tx + px - 1, at = KILN_ACT_INDEX(b, c, iy, ix, CA, H, GW);
                    xv[j] = ix < 0 || ix >= GW ? 0.0 : aFirst ? float(x[at]) : float(x2[at]);
                }
                for (int k = 0; k < CO_BLOCK; k++)
                {
                    const int co = co0 + k;
                    if (co >= p.cout) break;
                    const float wv = wd[((co * CA + c) * 4 + phase) * 4 + ty * 2 + tx];
                    for (int j = 0; j < PX_BLOCK; j++) acc[k][j] += wv * xv[j];
                }
            }
        }
    // b: the 3x3 at full resolution, this phase's columns.
    const int bWeights = p.cout * CA * 16;
    for (int c = 0; c < CB; c++)
        for (int ky = 0; ky < 3; ky++)
        {
            const int iy = oy + ky - 1;
            if (iy < 0 || iy >= OH) continue;
            for (int kx = 0; kx < 3; kx++)
            {
                float xv[PX_MAX];
                for (int j = 0; j < PX_BLOCK; j++)
                {
                    const int ix = 2 * (j0 + j) + px + kx - 1, at = KILN_ACT_INDEX(b, c, iy, ix, CB, OH, OW);
                    xv[j] = ix < 0 || ix >= OW ? 0.0 : aFirst ? float(x2[at]) : float(x[at]);
                }
                for (int k = 0; k < CO_BLOCK; k++)
                {
                    const int co = co0 + k;
                    if (co >= p.cout) break;
                    const float wv = wd[bWeights + (co * CB + c) * 9 + ky * 3 + kx];
                    for (int j = 0; j < PX_BLOCK; j++) acc[k][j] += wv * xv[j];
                }
            }
        }

    for (int k = 0; k < CO_BLOCK; k++)
    {
        const int co = co0 + k;
        if (co >= p.cout) break;
        const float bv = HAS_BIAS != 0 ? bias[co] : 0.0;
        for (int j = 0; j < PX_BLOCK; j++)
            if (j0 + j < GW) y[KILN_ACT_INDEX(b, co, oy, 2 * (j0 + j) + px, p.cout, OH, OW)] = act_t(kiln_activate(acc[k][j] + bv, ACT, SLOPE));
    }
}
