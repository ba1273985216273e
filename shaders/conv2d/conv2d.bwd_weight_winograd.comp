#version 450
// Convolution weight gradient by Winograd's F(2x2, 3x3), for GPUs (f32 arithmetic): 3x3 kernels, stride 1, dilation 1,
// groups 1 (Conv2dWeightGradWinograd). The forward of the layer makes each 2 x 2 tile of its output (the pixels of a)
// as A^T [(G g G^T) * (B^T d B)] A (conv2d.fwd_winograd.comp), so the gradient of its 3 x 3 kernel g is
//   dw = G^T [ sum over images and tiles of (A a_t A^T) * (B^T q_t B) ] G
// with a_t the tile's 2 x 2 values of a (dY for a Conv2d) and q_t its 4 x 4 patch of q (x), * elementwise: 16
// multiplications per tile and channel pair where the direct sum takes 36. A workgroup of 256 invocations computes
// 32 rows (channels of a) by 32 columns (channels of q) of dw over one split of the tiles, 8 tiles at a time (read into
// registers a step ahead): each invocation transforms one channel's tile of a and one of q into shared memory, then
// the 16 elements are 16 independent products [32 rows x 8 tiles] x [8 tiles x 32 columns], one per 16 invocations,
// each accumulating 8 x 8 of its element. At the end the sums go back through shared memory, half the rows at a time, for the output transform.
// Split-K: the tiles are cut into chunks of TILES_PER_SPLIT (a multiple of 8); chunk s writes out[s * CA * CQ * 9 + ...]
// and shaders/reduce/partials.comp adds the chunks in order (0: one chunk, out is dw itself). No atomics.
// f16 activations and gradients (the .f16 variant, storage.glsl) are widened to f32 as they are read.
// Conv2d: a = dY [N,Cout,OH,OW], q = x [N,Cin,H,W]; ConvTranspose2d: a = x, q = dY. dw [CA, CQ, 3, 3] (CA, CQ: the
// channels of a and q).
// Variant *.bias (KILN_BIAS_SUM; Conv2d, whose a is dY: the bias gradient is the sum of a's values per channel): element
// (1, 1) of A a_t A^T is the tile's sum, so the workgroups of the first column block also add up that element's row of
// every step, one invocation per row, and write them into db (or slice split of its [splits, CA] partials), so no pass
// of its own reads dY for the bias.
// Variant *.nhwc (KILN_NHWC, with its .bias form): a and q channels-last (KILN_ACT_INDEX), the same sums in the same order.
// Bindings: 0 a [N,CA,AH,AW] (act_t)  1 q [N,CQ,QH,QW] (act_t)  2 out [splits, CA, CQ, 3, 3] (float)
//           3 x2 (the .concat variant: q is the first part of a concatenation, include/concat_reads.glsl)
//           after those, in the .bias variant: db [CA] or partials [splits, CA] (float)
// Specialization: 0 PH, 1 PW, 2 N, 3 CA, 4 CQ, 5 AH, 6 AW, 7 QH, 8 QW, 9 TILES_PER_SPLIT (0 = no split)
// Push constants: none
// Dispatch: x = ceil(CQ / 32), y = ceil(CA / 32), z = splits; local x = 256
#include "kiln.glsl"
#include "storage.glsl"

#define KT 8                      // tiles per step
#define BM 32                     // rows (channels of a) per workgroup
#define BN 32                     // columns (channels of q) per workgroup
#define A_PITCH (KT * BM)         // floats per element of the transformed a; rows swizzled by 4 * tile (see at())
#define Q_BASE (16 * A_PITCH)
#define Q_PITCH (KT * BN)
#define M_PITCH (16 * BN)         // the sums of half the rows, per element, at the end

layout(constant_id = 0) const int PH = 1;
layout(constant_id = 1) const int PW = 1;
layout(constant_id = 2) const int N = 1;
layout(constant_id = 3) const int CA = 1;
layout(constant_id = 4) const int CQ = 1;
layout(constant_id = 5) const int AH = 1;
layout(constant_id = 6) const int AW = 1;
layout(constant_id = 7) const int QH = 1;
layout(constant_id = 8) const int QW = 1;
layout(constant_id = 9) const int TILES_PER_SPLIT = 0;

layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer Q { act_t q[]; };
layout(std430, binding = 2) writeonly buffer Out { float dw[]; };

#if KILN_CONCAT_READS
// Variant *.concat (include/concat_reads.glsl): q is the concatenation of q and x2 (binding 3), upsampled as it is read.
#define KILN_CONCAT_X q
#define KILN_CONCAT_BINDING 3
#include "concat_reads.glsl"
#define QAT(b, c, iy, ix) float(kiln_concat_read(b, c, iy, ix, CQ, QH, QW))
#else
#define QAT(b, c, iy, ix) float(q[KILN_ACT_INDEX(b, c, iy, ix, CQ, QH, QW)])
#endif
#if KILN_BIAS_SUM
#include "bias_sum.glsl"
#endif

// The step's transformed a (16 elements x 8 tiles x 32 rows) and q (16 x 8 x 32 columns); at the end the sums of half
// the rows (16 elements x 16 rows x 32 columns). 32 KiB in all: lavapipe's limit.
shared vec4 sm[(Q_BASE + 16 * Q_PITCH) / 4];

// Channel r of tile k within an element's block: the channels of tile k are rotated by 4k (an XOR, which keeps runs of
// 4 together), so the 32 invocations of a subgroup, 4 channels x 8 tiles, store to 32 different banks.
int at(int k, int r) { return k * 32 + (r ^ (k << 2)); }
void put(int i, float v) { sm[i >> 2][i & 3] = v; }
float get(int i) { return sm[i >> 2][i & 3]; }

// Tile s0 + k of the step (image b, tile row ty, column tx; zero past the split's end tEnd): its 2 x 2 values of a's
// channel m and its 4 x 4 patch of q's channel c.
void load(int s0, int tEnd, int tilesX, int tilesPerImage, int m, int c, int k, out float g[2][2], out float d[4][4])
{
    const int t = s0 + k, b = t / tilesPerImage, ty = (t % tilesPerImage) / tilesX, tx = t % tilesX;
    const bool live = t < tEnd;
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++)
        {
            const int ay = 2 * ty + y, ax = 2 * tx + x;
            g[y][x] = live && m < CA && ay < AH && ax < AW ? float(a[KILN_ACT_INDEX(b, m, ay, ax, CA, AH, AW)]) : 0.0;
        }
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
        {
            const int iy = 2 * ty - PH + y, ix = 2 * tx - PW + x;
            d[y][x] = live && c < CQ && iy >= 0 && iy < QH && ix >= 0 && ix < QW ? QAT(b, c, iy, ix) : 0.0;
        }
}

void main()
{
    const int tilesX = (AW + 1) / 2, tilesPerImage = tilesX * ((AH + 1) / 2), T = N * tilesPerImage;
    const int chunk = TILES_PER_SPLIT > 0 ? TILES_PER_SPLIT : T;
    const int split = int(gl_WorkGroupID.z), t0 = split * chunk, tEnd = min(T, t0 + chunk);
    const int m0 = int(gl_WorkGroupID.y) * BM, n0 = int(gl_WorkGroupID.x) * BN;
    const int tid = int(gl_LocalInvocationID.x);
    // Transforms: invocation tid takes channel tid / 8 of the block and tile tid % 8 of the step (8 consecutive
    // invocations read 8 neighbouring tiles: coalesced along the row).
    const int r = tid >> 3, k = tid & 7;
    // Products: element e = tid / 16, rows 8 * (tid / 4 % 4) .. + 7, columns 8 * (tid % 4) .. + 7.
    const int e = tid >> 4, mb = (tid >> 2) & 3, nb = tid & 3;

    vec4 acc[8][2];
    for (int i = 0; i < 8; i++)
    {
        acc[i][0] = vec4(0.0);
        acc[i][1] = vec4(0.0);
    }
#if KILN_BIAS_SUM
    // The bias gradient's rows: invocation tid < BM of the first column block adds up row tid of element (1, 1), the
    // tiles' sums of a, every step.
    const bool sumsBias = gl_WorkGroupID.x == 0 && tid < BM;
    float biasSum = 0.0;
#endif

    // Step s0's tiles go into registers one step ahead: their global reads overlap the previous step's products.
    float g[2][2], d[4][4];
    load(t0, tEnd, tilesX, tilesPerImage, m0 + r, n0 + r, k, g, d);
    for (int s0 = t0; s0 < tEnd; s0 += KT)
    {
        barrier(); // the previous step's products are done with shared memory

        // A g A^T, A = [1 0; 1 1; 1 -1; 0 -1]
        float h[4][2];
        for (int x = 0; x < 2; x++)
        {
            h[0][x] = g[0][x];
            h[1][x] = g[0][x] + g[1][x];
            h[2][x] = g[0][x] - g[1][x];
            h[3][x] = -g[1][x];
        }
        const int aAt = at(k, r);
        for (int y = 0; y < 4; y++)
        {
            put((4 * y + 0) * A_PITCH + aAt, h[y][0]);
            put((4 * y + 1) * A_PITCH + aAt, h[y][0] + h[y][1]);
            put((4 * y + 2) * A_PITCH + aAt, h[y][0] - h[y][1]);
            put((4 * y + 3) * A_PITCH + aAt, -h[y][1]);
        }
        // B^T d B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
        float v[4][4];
        for (int x = 0; x < 4; x++)
        {
            v[0][x] = d[0][x] - d[2][x];
            v[1][x] = d[1][x] + d[2][x];
            v[2][x] = d[2][x] - d[1][x];
            v[3][x] = d[1][x] - d[3][x];
        }
        const int qAt = Q_BASE + at(k, r);
        for (int y = 0; y < 4; y++)
        {
            put((4 * y + 0) * Q_PITCH + qAt, v[y][0] - v[y][2]);
            put((4 * y + 1) * Q_PITCH + qAt, v[y][1] + v[y][2]);
            put((4 * y + 2) * Q_PITCH + qAt, v[y][2] - v[y][1]);
            put((4 * y + 3) * Q_PITCH + qAt, v[y][1] - v[y][3]);
        }
        barrier();
        if (s0 + KT < tEnd) load(s0 + KT, tEnd, tilesX, tilesPerImage, m0 + r, n0 + r, k, g, d);

#if KILN_BIAS_SUM
        if (sumsBias)
            for (int kk = 0; kk < KT; kk++) biasSum += get(5 * A_PITCH + at(kk, tid));
#endif
        // Tiles past the split's end add zeros.
        for (int kk = 0; kk < KT; kk++)
        {
            const int ma = e * A_PITCH + at(kk, mb * 8), na = Q_BASE + e * Q_PITCH + at(kk, nb * 8);
            const int mb2 = e * A_PITCH + at(kk, mb * 8 + 4), nb2 = Q_BASE + e * Q_PITCH + at(kk, nb * 8 + 4);
            const vec4 a0 = sm[ma >> 2], a1 = sm[mb2 >> 2], b0 = sm[na >> 2], b1 = sm[nb2 >> 2];
            for (int i = 0; i < 4; i++)
            {
                acc[i][0] += a0[i] * b0;
                acc[i][1] += a0[i] * b1;
                acc[4 + i][0] += a1[i] * b0;
                acc[4 + i][1] += a1[i] * b1;
            }
        }
    }

#if KILN_BIAS_SUM
    if (sumsBias && m0 + tid < CA) db[split * CA + m0 + tid] = biasSum;
#endif
    // Output transform, half the rows at a time: dw = G^T m G, G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1].
    const int base = split * CA * CQ * 9;
    for (int part = 0; part < 2; part++)
    {
        barrier(); // the products (or the previous half's transforms) are done with shared memory
        if ((mb >> 1) == part)
            for (int i = 0; i < 8; i++)
                for (int j = 0; j < 8; j++)
                    put(e * M_PITCH + ((mb & 1) * 8 + i) * BN + nb * 8 + j, acc[i][j >> 2][j & 3]);
        barrier();
        // Invocation tid: column tid % 32 of rows tid / 32 and 8 + tid / 32 of the half (consecutive invocations write
        // neighbouring columns).
        for (int s = 0; s < 2; s++)
        {
            const int pr = tid + 256 * s, ml = pr >> 5, n = pr & 31;
            const int row = m0 + part * 16 + ml, col = n0 + n;
            if (row >= CA || col >= CQ) continue;
            float mm[4][4];
            for (int i = 0; i < 16; i++) mm[i >> 2][i & 3] = get(i * M_PITCH + ml * BN + n);
            float u[3][4];
            for (int x = 0; x < 4; x++)
            {
                u[0][x] = mm[0][x] + 0.5 * (mm[1][x] + mm[2][x]);
                u[1][x] = 0.5 * (mm[1][x] - mm[2][x]);
                u[2][x] = 0.5 * (mm[1][x] + mm[2][x]) + mm[3][x];
            }
            const int o = base + (row * CQ + col) * 9;
            for (int y = 0; y < 3; y++)
            {
                dw[o + 3 * y + 0] = u[y][0] + 0.5 * (u[y][1] + u[y][2]);
                dw[o + 3 * y + 1] = 0.5 * (u[y][1] - u[y][2]);
                dw[o + 3 * y + 2] = 0.5 * (u[y][1] + u[y][2]) + u[y][3];
            }
        }
    }
}
