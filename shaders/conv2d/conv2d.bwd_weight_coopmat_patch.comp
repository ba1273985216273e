#version 450
// Convolution weight gradient on tensor cores (VK_KHR_cooperative_matrix) for Precision.Fp16, staging each input element
// once per pixel tile rather than once per kernel tap (IConv2dWeightGrad's operation):
//   dw[c1, c2, ky, kx] = sum over b, y, x of P[b, c1, y, x] * Q[b, c2, y SH - PH + ky DH, x SW - PW + kx DW]
// (Conv2d: P = dY, Q = x; ConvTranspose2d: P = x, Q = dY). Per tap a GEMM over the pixels: M = C1, N = C2, K = pixels.
// A workgroup owns BM = TM * S * SG_M rows (c1) by BN = S * SG_N columns (c2) of one block of BKH x BKW taps (TM
// accumulators per tap, at most 9 taps: the whole kernel up to 3 x 3; a larger one, 4x4 or 5x5, in blocks of taps over
// z); subgroup (sgm, sgn) TM x 1 S x S blocks of each of the block's taps. TM is 1, or 2 in the wide tiles (constant 16),
// whose subgroups load each tap's B matrix once for two products (18 accumulators for a 3x3 block). The pixels run in tiles of TR rows by TW = S columns
// of one image: each tile stages P's [BM, TR * TW] block (row-major, pixels innermost) and Q's patch for the tap block,
// PR = (TR - 1) SH + (BKH - 1) DH + 1 by PC = (TW - 1) SW + (BKW - 1) DW + 1 pixels of BN channels (channel-innermost,
// 16-byte units of 8 channels), in shared memory; then for every tile row r the subgroup loads its A = P[rows, row r]
// (TM of them) once and, per tap, B = the S patch pixels of row r SH + ky DH from column kx DW, SW apart (a row-major matrix: pixels
// by channels), and multiplies. A tap block past the kernel's edge (5x5 in 3x3 blocks) skips its missing taps. The next
// tile is loaded into registers while this one is multiplied (two barriers per tile). Workgroup z takes tap block
// z % BLOCKS; with TILES (specialization 9) > 0 the pixel tiles are also split over z: split z / BLOCKS takes tiles
// [split * TILES, (split + 1) * TILES) and writes its block's partial sums into slice split of a
// [splits, C1 * C2 * KH * KW] buffer, which reduce/partials adds in split order; with 0 one split writes dw.
// The epilogue goes through a per-subgroup f32 S x S staging tile (dw's taps are innermost: not a matrix layout).
// Variant *.bias (KILN_BIAS_SUM; Conv2d, whose P is dY: the bias gradient is P's row sums): the workgroups of the first
// C2 tile and tap block also add up their rows of every staged P block, one invocation per row, and write them into db
// (or slice split of its [splits, C1] partials), so no pass of its own reads dY for the bias.
// Variant *.nhwc (KILN_NHWC, a channels-last training plan): P and Q are [N,H,W,C]. Both operands are then staged
// channels-innermost, 8 channels of one pixel to a unit read in one run: the patch as above, and P's block pixel-major
// (TR * TW pixels of BM + 8 f16), which the subgroup loads as a column-major A; with f16 activations an operand whose
// channels are a multiple of 8 is loaded a 16-byte unit at a time. The same products and sums in the same order.
// Shared memory: PR * PC * (BN + 8) * 2 + BM * (TR * TW + 8) * 2 (NHWC: TR * TW * (BM + 8) * 2) + SG_M * SG_N * S * S * 4
// bytes (S = 16, 4 x 2 subgroups, 8 rows, a 3x3 block, stride 1: 39.8 KiB). At most UNITS_MAX 16-byte units of each
// operand per invocation and tile (Conv2dWeightGradCoopMatPatch.Fits).
// Bindings: 0 P [N,C1,AH,AW] (act_t)  1 Q [N,C2,QH,QW] (act_t)  2 dw [C1,C2,KH,KW] or partials [splits, that] (float)
//           3 x2 (the .concat variant: Q is the first part of a concatenation, include/concat_reads.glsl)
//           after those, in the .bias variant: db [C1] or partials [splits, C1] (float)
// Specialization: 0 KH, 1 KW, 2 PH, 3 PW, 4 SG_M, 5 SG_N, 6 TR (tile rows), 7 S (the matrices' size), 8 SGS (the
//                 subgroup size), 9 TILES (pixel tiles per split; 0: no split), 10 SH, 11 SW, 12 DH, 13 DW,
//                 14 BKH, 15 BKW (the tap block, Conv2dWeightGradCoopMatPatch.TapBlock: KH x KW up to 3 x 3),
//                 16 TM_WIDE (1: TM = 2; 0, as a candidate's constants are padded: TM = 1)
// Push constants: n, c1, c2, ah, aw, qh, qw
// Dispatch: x = ceil(C2 / BN), y = ceil(C1 / BM), z = splits * BLOCKS; local x = SGS * SG_M * SG_N
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"
#include "pack_f16.glsl"

#define TAPS_MAX 9
#define TM_MAX 2
#define UNITS_MAX 16

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int PH = 1;
layout(constant_id = 3) const int PW = 1;
layout(constant_id = 4) const int SG_M = 4;
layout(constant_id = 5) const int SG_N = 2;
layout(constant_id = 6) const int TR = 8;
layout(constant_id = 7) const int S = 16;
layout(constant_id = 8) const int SGS = 32;
layout(constant_id = 9) const int TILES = 0;
layout(constant_id = 10) const int SH = 1;
layout(constant_id = 11) const int SW = 1;
layout(constant_id = 12) const int DH = 1;
layout(constant_id = 13) const int DW = 1;
layout(constant_id = 14) const int BKH = 3;
layout(constant_id = 15) const int BKW = 3;
layout(constant_id = 16) const int TM_WIDE = 0;
const int TM = 1 + TM_WIDE;                // accumulator rows (S rows of c1 each) per subgroup and tap

const int TAPS = KH * KW, BLOCK_TAPS = BKH * BKW;
const int BLOCKS_W = (KW + BKW - 1) / BKW, BLOCKS = (KH + BKH - 1) / BKH * BLOCKS_W;
const int BM = TM * S * SG_M, BN = S * SG_N;
const int TW = S;
const int PR = (TR - 1) * SH + (BKH - 1) * DH + 1, PC = (TW - 1) * SW + (BKW - 1) * DW + 1, PIXELS = PR * PC;
const int QP = (BN + 8) / 8;               // uvec4 per patch pixel (BN channels and 8 of padding)
const int LDA = TR * TW + 8;               // f16 per P row in shared memory (NCHW)
const int QA = LDA / 8;                    // uvec4 per P row (NCHW)
const int PA = (BM + 8) / 8;               // uvec4 per P pixel (NHWC: BM channels and 8 of padding)
const int Q_UNITS = PIXELS * (BN / 8);     // 16-byte units of the patch
const int P_UNITS = BM * (TR * TW / 8);    // 16-byte units of the P block
const int THREADS = SGS * SG_M * SG_N;
const int Q_PER = (Q_UNITS + THREADS - 1) / THREADS;
const int P_PER = (P_UNITS + THREADS - 1) / THREADS;

layout(std430, binding = 0) readonly buffer PB { act_t pv[]; };
layout(std430, binding = 1) readonly buffer QB { act_t qv[]; };
layout(std430, binding = 2) writeonly buffer D { float dw[]; };
#if KILN_CONCAT_READS
// Variant *.concat (include/concat_reads.glsl): Q is the concatenation of qv and x2 (binding 3), upsampled as it is read.
#define KILN_CONCAT_X qv
#define KILN_CONCAT_BINDING 3
#include "concat_reads.glsl"
#endif
#if KILN_BIAS_SUM
#include "bias_sum.glsl"
#endif
#if KILN_NHWC && defined(KILN_F16_STORAGE) && !KILN_CONCAT_READS
// Channels-last f16 activations: P and Q as 16-byte units too (the same buffers), so that where an operand's channels
// are a multiple of 8 each of its units is one aligned load, kept packed into shared memory as it is.
layout(std430, binding = 0) readonly buffer P8 { uvec4 p8[]; };
layout(std430, binding = 1) readonly buffer Q8 { uvec4 q8[]; };
#define KILN_UNIT_LOADS 1
#endif

layout(push_constant) uniform Push { int n, c1, c2, ah, aw, qh, qw; } p;

shared uvec4 Qs[PIXELS * QP];
#if KILN_NHWC
shared uvec4 Ps[TR * TW * PA];
#else
shared uvec4 Ps[BM * QA];
#endif
shared float Cs[SG_M * SG_N * S * S];

act_t qReg[UNITS_MAX * 8];
act_t pReg[UNITS_MAX * 8];
#if KILN_UNIT_LOADS
uvec4 qUnit[UNITS_MAX];
uvec4 pUnit[UNITS_MAX];
#endif


// Pixel tile t of the whole batch: image b, first row y0, first column x0 (columns fastest).
void tileOrigin(int t, out int b, out int y0, out int x0)
{
    const int tilesX = (p.aw + TW - 1) / TW, tilesY = (p.ah + TR - 1) / TR;
    x0 = (t % tilesX) * TW;
    y0 = (t / tilesX % tilesY) * TR;
    b = t / (tilesX * tilesY);
}

// Loads pixel tile t's P block and its Q patch for the tap block whose first tap is (ky0, kx0).
void load(int t, int m0, int n0, int ky0, int kx0, int tid)
{
    int b, y0, x0;
    tileOrigin(t, b, y0, x0);
    const int pPlane = p.ah * p.aw, qPlane = p.qh * p.qw;
#if KILN_NHWC
    // P: unit u = (pixel pix of the tile, channels 8 g to 8 g + 7 of the block), channels fastest (one run per pixel).
    [[unroll]] for (int k = 0; k < P_PER; k++)
    {
        const int u = tid + k * THREADS, g = u % (BM / 8), pix = u / (BM / 8);
        const int y = y0 + pix / TW, x = x0 + pix % TW;
        const bool ok = u < P_UNITS && y < p.ah && x < p.aw;
        const int left = p.c1 - m0 - g * 8;
        const int base = ((b * p.ah + y) * p.aw + x) * p.c1 + m0 + g * 8;
#if KILN_UNIT_LOADS
        if (p.c1 % 8 == 0)                     // uniform: every unit whole or wholly past C1, every offset a multiple of 8
        {
            pUnit[k] = ok && left > 0 ? p8[base / 8] : uvec4(0u);
            continue;
        }
#endif
        [[unroll]] for (int e = 0; e < 8; e++)
        {
            const bool inside = ok && e < left;
            const act_t v = pv[inside ? base + e : 0];
            pReg[k * 8 + e] = inside ? v : act_t(0.0);
        }
    }
    // Q: unit u = (8 channels g, patch pixel), channels fastest.
    [[unroll]] for (int k = 0; k < Q_PER; k++)
    {
        const int u = tid + k * THREADS, g = u % (BN / 8), pix = u / (BN / 8);
        const int iy = y0 * SH + pix / PC - PH + ky0 * DH, ix = x0 * SW + pix % PC - PW + kx0 * DW;
        const bool ok = u < Q_UNITS && iy >= 0 && iy < p.qh && ix >= 0 && ix < p.qw;
        const int left = p.c2 - n0 - g * 8;
        const int base = ((b * p.qh + iy) * p.qw + ix) * p.c2 + n0 + g * 8;
#if KILN_UNIT_LOADS
        if (p.c2 % 8 == 0)
        {
            qUnit[k] = ok && left > 0 ? q8[base / 8] : uvec4(0u);
            continue;
        }
#endif
        [[unroll]] for (int e = 0; e < 8; e++)
        {
            const bool inside = ok && e < left;
            const act_t v = qv[inside ? base + e : 0];
            qReg[k * 8 + e] = inside ? v : act_t(0.0);
        }
    }
#else
    // P: unit u = (row m, 8 pixels of the tile starting at pixel 8 * j), the pixels of one tile row (TW = S >= 8).
    [[unroll]] for (int k = 0; k < P_PER; k++)
    {
        const int u = tid + k * THREADS, m = u / (TR * TW / 8), j = u % (TR * TW / 8);
        const int pix = j * 8, y = y0 + pix / TW, x = x0 + pix % TW;
        const bool row = u < P_UNITS && m0 + m < p.c1 && y < p.ah;
        const int base = ((b * p.c1 + m0 + m) * p.ah + y) * p.aw + x;
        [[unroll]] for (int e = 0; e < 8; e++)
        {
            const bool inside = row && x + e < p.aw;
            const act_t v = pv[inside ? base + e : 0];
            pReg[k * 8 + e] = inside ? v : act_t(0.0);
        }
    }
    // Q: unit u = (8 channels g, patch pixel), pixels fastest (coalesced along the image row).
    [[unroll]] for (int k = 0; k < Q_PER; k++)
    {
        const int u = tid + k * THREADS, g = u / PIXELS, pix = u % PIXELS;
        const int iy = y0 * SH + pix / PC - PH + ky0 * DH, ix = x0 * SW + pix % PC - PW + kx0 * DW;
        const bool ok = u < Q_UNITS && iy >= 0 && iy < p.qh && ix >= 0 && ix < p.qw;
        const int left = p.c2 - n0 - g * 8;
        const int base = ((b * p.c2 + n0 + g * 8) * p.qh + iy) * p.qw + ix;
        [[unroll]] for (int e = 0; e < 8; e++)
        {
            const bool inside = ok && e < left;
#if KILN_CONCAT_READS
            const act_t v = inside ? kiln_concat_read(b, n0 + g * 8 + e, iy, ix, p.c2, p.qh, p.qw) : act_t(0.0);
#else
            const act_t v = qv[inside ? base + e * qPlane : 0];
#endif
            qReg[k * 8 + e] = inside ? v : act_t(0.0);
        }
    }
#endif
}

// The shared-memory places of unit u of each operand (load's order).
#if KILN_NHWC
int pSlot(int u) { return (u / (BM / 8)) * PA + u % (BM / 8); }
int qSlot(int u) { return (u / (BN / 8)) * QP + u % (BN / 8); }
#else
int pSlot(int u) { return (u / (TR * TW / 8)) * QA + u % (TR * TW / 8); }
int qSlot(int u) { return (u % PIXELS) * QP + u / PIXELS; }
#endif

void store(int tid)
{
    [[unroll]] for (int k = 0; k < P_PER; k++)
    {
        const int u = tid + k * THREADS;
        const int r = k * 8;
        if (u >= P_UNITS) continue;
#if KILN_UNIT_LOADS
        if (p.c1 % 8 == 0) { Ps[pSlot(u)] = pUnit[k]; continue; }
#endif
        Ps[pSlot(u)] = kiln_pack_f16x8(pReg[r], pReg[r + 1], pReg[r + 2], pReg[r + 3], pReg[r + 4], pReg[r + 5], pReg[r + 6], pReg[r + 7]);
    }
    [[unroll]] for (int k = 0; k < Q_PER; k++)
    {
        const int u = tid + k * THREADS;
        const int r = k * 8;
        if (u >= Q_UNITS) continue;
#if KILN_UNIT_LOADS
        if (p.c2 % 8 == 0) { Qs[qSlot(u)] = qUnit[k]; continue; }
#endif
        Qs[qSlot(u)] = kiln_pack_f16x8(qReg[r], qReg[r + 1], qReg[r + 2], qReg[r + 3], qReg[r + 4], qReg[r + 5], qReg[r + 6], qReg[r + 7]);
    }
}

void main()
{
    const int tid = int(gl_LocalInvocationID.x);
    const int sg = int(gl_SubgroupID), lane = int(gl_SubgroupInvocationID);
    const int sgm = sg / SG_N, sgn = sg % SG_N;
    const int n0 = int(gl_WorkGroupID.x) * BN, m0 = int(gl_WorkGroupID.y) * BM;
    const int block = int(gl_WorkGroupID.z) % BLOCKS, split = int(gl_WorkGroupID.z) / BLOCKS;
    const int ky0 = block / BLOCKS_W * BKH, kx0 = block % BLOCKS_W * BKW;
    const int tiles = p.n * ((p.ah + TR - 1) / TR) * ((p.aw + TW - 1) / TW);
    const int first = TILES > 0 ? split * TILES : 0, last = TILES > 0 ? min(tiles, first + TILES) : tiles;

    coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> acc[TM_MAX][TAPS_MAX];
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int t = 0; t < BLOCK_TAPS; t++) acc[i][t] = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(0.0);

#if KILN_BIAS_SUM
    // The bias gradient's rows: invocation tid < BM adds up row tid of every P block (uniform per workgroup; the host
    // keeps BM within the workgroup, Conv2dWeightGradCoopMatPatch.Fits).
    const bool sumsBias = gl_WorkGroupID.x == 0 && block == 0;
    float biasSum = 0.0;
#endif

    if (first < last)
    {
        load(first, m0, n0, ky0, kx0, tid);
        store(tid);
    }
    barrier();
    [[dont_unroll]] for (int t = first; t < last; t++)
    {
        if (t + 1 < last) load(t + 1, m0, n0, ky0, kx0, tid);
        [[dont_unroll]] for (int r = 0; r < TR; r++)
        {
            coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a[TM_MAX];
            [[unroll]] for (int i = 0; i < TM; i++)
#if KILN_NHWC
                // Row r's pixels are columns, the subgroup's S channels i rows: column-major, a pixel's channels contiguous.
                coopMatLoad(a[i], Ps, uint(r * TW * PA + (sgm * TM + i) * S / 8), uint(PA), gl_CooperativeMatrixLayoutColumnMajor);
#else
                coopMatLoad(a[i], Ps, uint((sgm * TM + i) * S * QA + r * TW / 8), uint(QA), gl_CooperativeMatrixLayoutRowMajor);
#endif
            [[unroll]] for (int ky = 0; ky < BKH; ky++)
                [[unroll]] for (int kx = 0; kx < BKW; kx++)
                    if (BLOCK_TAPS == TAPS || (ky0 + ky < KH && kx0 + kx < KW))
                    {
                        // The S row-r pixels' inputs at the tap (rows, SW patch pixels apart) by this subgroup's S channels (columns).
                        coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> bm;
                        coopMatLoad(bm, Qs, uint(((r * SH + ky * DH) * PC + kx * DW) * QP + sgn * S / 8), uint(SW * QP),
                                    gl_CooperativeMatrixLayoutRowMajor);
                        [[unroll]] for (int i = 0; i < TM; i++) acc[i][ky * BKW + kx] = coopMatMulAdd(a[i], bm, acc[i][ky * BKW + kx]);
                    }
        }
#if KILN_BIAS_SUM
#if KILN_NHWC
        if (sumsBias && tid < BM)
            for (int j = 0; j < TR * TW / 8; j++)
            {
                // Channel tid of pixels 8 j to 8 j + 7 (half tid % 8 of each pixel's unit tid / 8), added as the NCHW
                // form adds its unit of 8 pixels.
                float v[8];
                [[unroll]] for (int e = 0; e < 8; e++)
                {
                    const uvec4 u = Ps[(j * 8 + e) * PA + tid / 8];
                    const int h = tid % 8;
                    const vec2 pair = unpackHalf2x16(h < 2 ? u.x : h < 4 ? u.y : h < 6 ? u.z : u.w);
                    v[e] = (h & 1) == 0 ? pair.x : pair.y;
                }
                biasSum += ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
            }
#else
        if (sumsBias && tid < BM)
            for (int j = 0; j < TR * TW / 8; j++)
            {
                const uvec4 u = Ps[tid * QA + j];
                const vec2 h0 = unpackHalf2x16(u.x), h1 = unpackHalf2x16(u.y), h2 = unpackHalf2x16(u.z), h3 = unpackHalf2x16(u.w);
                biasSum += ((h0.x + h0.y) + (h1.x + h1.y)) + ((h2.x + h2.y) + (h3.x + h3.y));
            }
#endif
#endif
        barrier();
        if (t + 1 < last) store(tid);
        barrier();
    }

#if KILN_BIAS_SUM
    if (sumsBias && tid < BM && m0 + tid < p.c1) db[(TILES > 0 ? split * p.c1 : 0) + m0 + tid] = biasSum;
#endif

    // Epilogue: each tap's block through the subgroup's staging tile into dw (or slice split of the partials), taps innermost.
    const int count = p.c1 * p.c2 * TAPS;
    const int out0 = TILES > 0 ? split * count : 0;
    [[unroll]] for (int i = 0; i < TM; i++)
    [[unroll]] for (int t = 0; t < BLOCK_TAPS; t++)
    {
        const int ky = ky0 + t / BKW, kx = kx0 + t % BKW;
        if (ky >= KH || kx >= KW) continue;
        coopMatStore(acc[i][t], Cs, uint(sg * S * S), uint(S), gl_CooperativeMatrixLayoutRowMajor);
        subgroupMemoryBarrierShared();
        subgroupBarrier();
        for (int e = lane; e < S * S; e += SGS)
        {
            const int m = m0 + (sgm * TM + i) * S + e / S, c = n0 + sgn * S + e % S;
            if (m < p.c1 && c < p.c2) dw[out0 + (m * p.c2 + c) * TAPS + ky * KW + kx] = Cs[sg * S * S + e];
        }
        subgroupMemoryBarrierShared();
        subgroupBarrier();
    }
}
