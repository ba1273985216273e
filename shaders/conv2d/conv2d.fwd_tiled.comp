#version 450
// 2-D convolution forward for GPUs (f32 arithmetic): stride 1, dilation 1, groups 1, kernels up to 3x3. A workgroup computes a
// 16 x 16 tile of output pixels of one image for BCO output channels. Input channels go in chunks of 8: the workgroup
// stages the chunk's input patch (tile plus halo, zero outside the image) and weights into shared memory with
// coalesced loads, then each invocation accumulates 8 channels x 8 columns of one row from shared memory (the weights
// it reads are the same across its group of 32 invocations: broadcasts). Each output sums its taps in the same order
// as conv2d.fwd.comp (input channel, then ky, then kx). f16 activations (the .f16 variant, storage.glsl) are widened to
// f32 as the patch is staged: shared memory, weights, bias and accumulation stay f32.
// Bindings: 0 x [N,Cin,H,W] (act_t)  1 w [Cout,Cin,KH,KW] (float)  2 bias [Cout] (float; unused when HAS_BIAS=0)
//           3 y [N,Cout,OH,OW] (act_t)  4 the .dact variant's activation output (include/act_grad_epilogue.glsl)
// Specialization: 0 KH, 1 KW (1..3), 2 PH, 3 PW, 4 HAS_BIAS, 5 ACT, 6 SLOPE (float), 7 CIN, 8 COUT, 9 H, 10 W, 11 OH,
//                 12 OW, 13 BCO (32 or 64: output channels per workgroup; local x = 32 * BCO / 8)
// Push constants: none
// Dispatch: x = ceil(OW / 16) * ceil(OH / 16), y = ceil(Cout / BCO), z = N
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

#define TH 16
#define TW 16
#define CI_CHUNK 8
#define K_MAX 3
#define PATCH_W (TW + K_MAX - 1)
#define PATCH_H (TH + K_MAX - 1)
#define BCO_MAX 64
#define W_PITCH (BCO_MAX + 1) // one float of padding: the staging stores of consecutive invocations hit different banks

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int PH = 1;
layout(constant_id = 3) const int PW = 1;
layout(constant_id = 4) const int HAS_BIAS = 0;
layout(constant_id = 5) const int ACT = 0;
layout(constant_id = 6) const float SLOPE = 0.01;
layout(constant_id = 7) const int CIN = 1;
layout(constant_id = 8) const int COUT = 1;
layout(constant_id = 9) const int H = 1;
layout(constant_id = 10) const int W = 1;
layout(constant_id = 11) const int OH = 1;
layout(constant_id = 12) const int OW = 1;
layout(constant_id = 13) const int BCO = 64;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { act_t y[]; };
#if KILN_ACT_GRAD
#include "act_grad_epilogue.glsl"
#endif

#if KILN_CONCAT_READS
// Variant *.concat (include/concat_reads.glsl): x concatenated with x2, upsampled as the patch is staged.
#include "concat_reads.glsl"
#define XAT(b, c, iy, ix) float(kiln_concat_read(b, c, iy, ix, CIN, H, W))
#else
#define XAT(b, c, iy, ix) float(x[(((b) * CIN + (c)) * H + (iy)) * W + (ix)])
#endif

shared float xs[CI_CHUNK * PATCH_H * PATCH_W];
shared float ws[CI_CHUNK * K_MAX * K_MAX * W_PITCH];

void main()
{
    const int threads = 32 * (BCO / 8);
    const int tilesX = (OW + TW - 1) / TW;
    const int ox0 = (int(gl_WorkGroupID.x) % tilesX) * TW, oy0 = (int(gl_WorkGroupID.x) / tilesX) * TH;
    const int co0 = int(gl_WorkGroupID.y) * BCO, b = int(gl_WorkGroupID.z);
    const int tid = int(gl_LocalInvocationID.x);
    // Invocation tid: channels group * 8 .. + 7 (group = tid / 32), output row tid % 32 / 2 of the tile, columns
    // (tid % 2) * 8 .. + 7.
    const int group = tid / 32, row = (tid % 32) / 2, col0 = (tid % 2) * 8;
    const int taps = KH * KW, patchH = TH + KH - 1, patchW = TW + KW - 1;

    float acc[8][8];
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) acc[i][j] = 0.0;

    for (int c0 = 0; c0 < CIN; c0 += CI_CHUNK)
    {
        barrier(); // the previous chunk's reads of xs and ws are done
        // Input patch of the chunk: rows oy0 - PH .. + patchH, columns ox0 - PW .. + patchW; zero outside the image
        // and past the last channel. Consecutive invocations take consecutive columns (coalesced).
        for (int i = tid; i < CI_CHUNK * patchH * patchW; i += threads)
        {
            const int c = i / (patchH * patchW), r = (i / patchW) % patchH, q = i % patchW;
            const int ci = c0 + c, iy = oy0 - PH + r, ix = ox0 - PW + q;
            float v = 0.0;
            if (ci < CIN && iy >= 0 && iy < H && ix >= 0 && ix < W) v = XAT(b, ci, iy, ix);
            xs[(c * PATCH_H + r) * PATCH_W + q] = v;
        }
        // Weights of the chunk, ws[(c * taps + t) * W_PITCH + co]: read in global order (taps of a channel contiguous).
        for (int i = tid; i < BCO * CI_CHUNK * taps; i += threads)
        {
            const int co = i / (CI_CHUNK * taps), rest = i % (CI_CHUNK * taps), c = rest / taps, t = rest % taps;
            float v = 0.0;
            if (co0 + co < COUT && c0 + c < CIN) v = w[((co0 + co) * CIN + c0 + c) * taps + t];
            ws[(c * taps + t) * W_PITCH + co] = v;
        }
        barrier();

        const int chunk = min(CI_CHUNK, CIN - c0);
        for (int c = 0; c < chunk; c++)
            for (int ky = 0; ky < KH; ky++)
            {
                float xr[8 + K_MAX - 1];
                const int base = (c * PATCH_H + row + ky) * PATCH_W + col0;
                for (int j = 0; j < 8 + KW - 1; j++) xr[j] = xs[base + j];
                for (int kx = 0; kx < KW; kx++)
                {
                    const int wb = (c * taps + ky * KW + kx) * W_PITCH + group * 8;
                    float wv[8];
                    for (int i = 0; i < 8; i++) wv[i] = ws[wb + i];
                    for (int i = 0; i < 8; i++)
                        for (int j = 0; j < 8; j++) acc[i][j] += wv[i] * xr[j + kx];
                }
            }
    }

    const int oy = oy0 + row;
    if (oy >= OH) return;
    for (int i = 0; i < 8; i++)
    {
        const int co = co0 + group * 8 + i;
        if (co >= COUT) break;
        const float bv = HAS_BIAS != 0 ? bias[co] : 0.0;
        for (int j = 0; j < 8; j++)
        {
            const int ox = ox0 + col0 + j;
            const int o = ((b * COUT + co) * OH + oy) * OW + ox;
#if KILN_ACT_GRAD
            if (ox < OW) y[o] = act_t(kiln_act_grad(acc[i][j] + bv, o, ACT, SLOPE));
#else
            if (ox < OW) y[o] = act_t(kiln_activate(acc[i][j] + bv, ACT, SLOPE));
#endif
        }
    }
}
