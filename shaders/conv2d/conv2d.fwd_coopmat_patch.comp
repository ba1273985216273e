#version 450
// 2-D convolution forward on tensor cores (VK_KHR_cooperative_matrix) for Precision.Fp16, staging each input element
// once per step rather than once per kernel tap:
//   Y[co, oy, ox] = act(bias[co] + sum over ci, ky, kx of W[co, ci, ky, kx] * X[ci, oy*SH + ky*DH - PH, ox*SW + kx*DW - PW]).
// A workgroup computes BM = TM S SG_M output channels by a TH x TW tile of one image's output pixels (TW = S columns,
// TH = TN * SG_N rows); subgroup (sgm, sgn) computes TM S channels by TN output rows, TM x TN accumulators of S x S
// (S x S x S f16*f16+f32 matrices: S = 16 on NVIDIA, 8 on lavapipe; the subgroups are SGS invocations wide). TM is 2,
// or 4 in the wide tiles (constant 25): per product a wide subgroup loads half a B matrix where the others load one,
// on a GPU whose shared-memory bandwidth, not its tensor cores, bounds a subgroup of 2 x 4 accumulators.
// The reduction runs over the input channels in steps of CK = 16. Each step stages the tile's input patch with its
// halo, PR = (TH - 1) SH + (KH - 1) DH + 1 rows by PC = (TW - 1) SW + (KW - 1) DW + 1 columns of CK channels, into
// shared memory channel-innermost (LDP f16 per pixel, 16-byte aligned), so that for every tap (ky, kx) the S x S
// operand "channels x S pixels of output row r" is one column-major matrix load at patch pixel (r SH + ky DH, kx DW)
// with stride SW * LDP (the output pixels' inputs lie SW apart): the KH * KW taps share one patch, and a patch
// pixel is 8 channels packed into one 16-byte shared store. The weights come pre-packed to f16 by
// conv2d.pack_weight_f16.comp as [KH*KW, COP, CIP] (rows padded with zeros to the tiles) and are loaded straight from
// global memory (every workgroup reads the same few KiB: cache hits), each tap's fragments requested one tap ahead of
// their products so that the loads' latency runs under the previous tap's. The step's patch is loaded into registers before
// the previous step's products and stored into the other of two shared buffers after them (one barrier per step).
// The accumulators start from the bias (a shared BM x S tile of it); the activation is applied per element, and a tile
// wholly inside Y with 16-byte aligned rows (OW and OH * OW multiples of 8) is stored straight to Y as act_t; edge
// tiles go through a per-subgroup staging tile with bounds checks.
// Shared memory: 2 * PR * PC * LDP * 2 + BM * S * 4 + SG_M * SG_N * S * S * 4 bytes (S = 16, TM = 2, SG_M = 2, 3x3, stride 1:
// 25.5 KiB). The registers hold at most UNITS_MAX patch units (8 channels of one pixel) per
// invocation: the host picks only tiles within it (Conv2dCoopMatPatch.Fits).
// Bindings: 0 x [N,Cin,H,W] (act_t)  1 wp [KH*KW, COP, CIP] (float16_t)  2 bias [Cout] (float; unused when HAS_BIAS=0)
//           3 y [N,Cout,OH,OW] (act_t; the .pool variant: [N,Cout,OH/2,OW/2], TN even; .pool.keep: the unpooled y at 4)
//           4 (the .dact variant, include/act_grad_epilogue.glsl) the output of the activation ACT whose gradient y leaves
//           through: a tile stored straight loads its block of it as a matrix of the accumulators' layout; (.pool.keep,
//           include/pool_epilogue.glsl) the unpooled output [N,Cout,OH,OW] (act_t), written from the staging tile
// Variant *.unpool (include/unpool_epilogue.glsl; a stride-1 input gradient whose layer reads a 2x2 max pool): y is the
// pool's input gradient [N,Cout,2 OH,2 OW], written from the staging tiles (no tile is stored straight), 4 the pool's
// input, 5 the addend; specialization 40 UNPOOL_SUM. With .sa too (.sa.unpool).
// Variant *.nhwc (KILN_NHWC): x and y [N,H,W,C]. A patch unit's 8 channels are then 16 contiguous bytes of x (one
// load where Cin is a multiple of 8 and the activations f16), and consecutive invocations take a pixel's CK / 8 units
// and then the next pixel's, so a workgroup's loads of a step run along x's rows; a tile wholly inside Y with Cout a
// multiple of 8 is stored column-major (stride Cout) from the accumulators.
// Variant *.sa (KILN_SHARED_A; the plain and .nhwc forms, with .dact and .unpool ones; the entry
// Conv2dCoopMatPatchSharedWeights, which runs where named or tuned): the weights come
// through shared memory too. Each step stages its KH * KW taps' BM x CK blocks of the packed weight ([taps][BM][CK + 8]
// f16, 16-byte units read as uvec4) beside the patch, both read into registers before the step's products and stored
// after them between two barriers (one buffer of each: shared memory for a BM = 64 tile, 3x3, 8 x 16 pixels: 44 KiB),
// so the products' A operands are shared-memory loads like their B operands rather than global ones. The same products
// in the same order.
// Variant *.subpixel (KILN_SUBPIXEL; Conv2dCoopMatPatchSubPixel): a UNet decoder's 3x3, stride-1, padding-1 convolution
// of a concatenation in which one input, a, is upsampled 2x by nearest neighbour, by output phase (include/subpixel.glsl):
// at output pixel (2i + py, 2j + px) a's 3x3 taps fall on its pixels (i + ty + py - 1, j + tx + px - 1), ty, tx in 0..1,
// with weights that are sums of the 3x3 ones, so a's channels cost 4/9 of their products. A workgroup computes a
// TH x TW tile of one phase's pixels (the phase gl_WorkGroupID.z; oh x ow here is the phase grid, h x w the output's and
// b's full resolution). Its reduction runs over a's channels first, staging a's (TH + 1) x (TW + 1) patch at its own
// resolution and reading the phase's 4 taps from it, then over b's, staging b's patch of the stride-2 layer the host
// describes in the constants (KH = KW = 3, SH = SW = 2: (2 TH + 1) x (2 TW + 1) pixels) and reading its 9 taps at
// column stride 2. The weight comes packed per phase by conv2d.pack_weight_f16.comp (SUBPIXEL: [16 + 9, COP, CIP]).
// Under .nhwc with f16 activations an input whose channels are a multiple of 8 is staged in 16-byte units.
// x is the concatenation's first input and x2 (binding 4) its second; SC1, SC2 (include/concat_reads.glsl) say which
// is upsampled. Every tile is written through the staging tiles (its pixels lie 2 apart in y).
// Variant *.phases (KILN_PHASES; Conv2dInputGradCoopMatStrided, plain and .nhwc, with .dact forms): every output phase
// of a strided layer's input gradient (or of a strided transposed convolution) in one dispatch, phase
// gl_WorkGroupID.z = ry OSW + rx, each run as KH x KW taps (the largest phase's; zero weights for those a phase lacks,
// which conv2d.pack_weight_f16 writes, and the padding of the larger kernel). Specialization 26..31 are the layer's kernel,
// padding and dilation (its stride OSH, OSW; dX FULL_H x FULL_W): include/phase_grid.glsl derives each phase's padding and
// pixel grid from them (PH, PW, ORY, ORX and the push constants' oh, ow are unused), x is dY, and the packed weight
// holds every phase's KH x KW taps one phase after the other ([phases * KH*KW, COP, CIP]: conv2d.pack_weight_f16's
// PHASES form). x counts the tiles of phase 0's grid, the largest; a smaller phase's workgroups past its own return at
// once. The phases write disjoint pixels of dX: one dispatch, where one per phase needed a barrier between each.
// Specialization: 0 KH, 1 KW, 2 PH, 3 PW (may be negative: a phase of a strided input gradient), 4 HAS_BIAS, 5 ACT,
//                 6 SLOPE (float), 7 SG_M, 8 SG_N, 9 TN, 10 S (the matrices' size), 11 SGS (the subgroup size), 12 SH,
//                 13 SW, 14 DH, 15 DW, 16 OSH, 17 OSW, 18 ORY, 19 ORX, 23 FULL_H, 24 FULL_W (the output phase),
//                 25 TM_WIDE, 26 LKH, 27 LKW, 28 LPH, 29 LPW, 30 LDH, 31 LDW (.phases: the layer's)
// Push constants: n, cin, cout, h, w, oh, ow, cop, cip
// Dispatch: x = N * ceil(OH / TH) * ceil(OW / TW) pixel tiles (columns fastest), y = ceil(Cout / BM) channel tiles;
//           local x = SGS * SG_M * SG_N (.subpixel: z = 4 phases; .phases: z = OSH * OSW phases)
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"
#include "pack_f16.glsl"

#if KILN_POOL
#include "pool_epilogue.glsl"
#endif
#ifndef KILN_SUBPIXEL
#define KILN_SUBPIXEL 0
#endif
#ifndef KILN_UNPOOL
#define KILN_UNPOOL 0
#endif

#define TM_MAX 4        // accumulator rows (S channels each) per subgroup, at most
#define TN_MAX 4        // accumulator columns (output rows) per subgroup, at most
#define UNITS_MAX 16    // patch units (8 channels of one pixel) staged per invocation and step, at most
#define A_UNITS_MAX 24  // .sa: weight units (8 channels of one row and tap) staged per invocation and step, at most
#ifndef KILN_SHARED_A
#define KILN_SHARED_A 0
#endif

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int PH = 1;
layout(constant_id = 3) const int PW = 1;
layout(constant_id = 4) const int HAS_BIAS = 0;
layout(constant_id = 5) const int ACT = 0;
layout(constant_id = 6) const float SLOPE = 0.01;
layout(constant_id = 7) const int SG_M = 2;
layout(constant_id = 8) const int SG_N = 2;
layout(constant_id = 9) const int TN = 4;
layout(constant_id = 10) const int S = 16;
layout(constant_id = 11) const int SGS = 32;
layout(constant_id = 12) const int SH = 1;
layout(constant_id = 13) const int SW = 1;
layout(constant_id = 14) const int DH = 1;
layout(constant_id = 15) const int DW = 1;
// A strided layer's input gradient, one output phase per dispatch (Conv2dInputGradCoopMatStrided): output pixel
// (oy, ox) of the phase grid goes to (oy OSH + ORY, ox OSW + ORX) of a FULL_H x FULL_W output (0: OH x OW). 0 stands for
// 1 in each (a candidate's constants padded with zeros, as the .concat variant's are, are not strided).
layout(constant_id = 16) const int OSH = 0;
layout(constant_id = 17) const int OSW = 0;
layout(constant_id = 18) const int ORY = 0;
layout(constant_id = 19) const int ORX = 0;
layout(constant_id = 23) const int FULL_H = 0;
layout(constant_id = 24) const int FULL_W = 0;
// 1: 4 accumulator rows (4 S output channels) per subgroup; 0 (as a candidate's constants are padded): 2.
layout(constant_id = 25) const int TM_WIDE = 0;
const int TM = 2 + 2 * TM_WIDE;            // accumulator rows per subgroup
#if KILN_PHASES
// .phases: specialization 26..31 and each workgroup's phase (include/phase_grid.glsl).
#include "phase_grid.glsl"
#endif

const int CK = 16;                         // input channels per step
const int LDP = CK + 8;                    // f16 per patch pixel: 48 bytes, 16-byte aligned, 8 pixels of a warp's
                                           // 16-byte stores fall on distinct bank groups
const int Q = LDP / 8;                     // uvec4 per patch pixel
const int BM = TM * S * SG_M;              // output channels per workgroup tile
const int TH = TN * SG_N, TW = S;          // output rows and columns per workgroup tile
const int POOL_PER = (S * S / 2 + SGS - 1) / SGS; // .pool: column pairs of an S x S block per lane
const int PR = (TH - 1) * SH + (KH - 1) * DH + 1, PC = (TW - 1) * SW + (KW - 1) * DW + 1;
const int PIXELS = PR * PC;                // patch pixels
const int UNITS = PIXELS * (CK / 8);       // 16-byte units per patch and step
const int PATCH = PIXELS * Q;              // uvec4 per patch buffer
const int THREADS = SGS * SG_M * SG_N;
const int PER = (UNITS + THREADS - 1) / THREADS;
const int LDC = S;
const int G = CK / 8;                      // patch units per pixel and step
const int KK = CK / S;                     // S-channel slices of a step

// Patch unit u of a step: its channel group (8 channels) and its pixel in the patch.
#if KILN_NHWC
#define UNIT_GROUP(u) ((u) % G)
#define UNIT_PIXEL(u) ((u) / G)
#else
#define UNIT_GROUP(u) ((u) / PIXELS)
#define UNIT_PIXEL(u) ((u) % PIXELS)
#endif

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer Wp { float16_t wp[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { act_t y[]; };
#if KILN_ACT_GRAD
#include "act_grad_epilogue.glsl"
#endif
#if KILN_UNPOOL
#include "unpool_epilogue.glsl"
#endif
// An input gradient's epilogue (.dact, .unpool): ACT is the derivative to take, not an activation to apply.
#define KILN_GRAD_EPILOGUE (KILN_ACT_GRAD || KILN_UNPOOL)

layout(push_constant) uniform P { int n, cin, cout, h, w, oh, ow, cop, cip; } p;

#if KILN_NHWC && defined(KILN_F16_STORAGE) && !KILN_CONCAT_READS && !KILN_SUBPIXEL
// Channels-last f16 activations: x as 16-byte units too (the same buffer), so that where Cin is a multiple of 8 a
// patch unit is one aligned load, kept packed into shared memory as it is.
layout(std430, binding = 0) readonly buffer X8 { uvec4 x8[]; };
#define KILN_UNIT_LOADS 1
#endif

#if KILN_CONCAT_READS || KILN_SUBPIXEL
// Variant *.concat (include/concat_reads.glsl): x concatenated with x2, upsampled as the patch is staged.
// Variant *.subpixel: its bindings and constants, the upsampled input read from its small tensor as it is.
#include "concat_reads.glsl"
#endif

#if KILN_SUBPIXEL && KILN_NHWC && defined(KILN_F16_STORAGE)
// The .nhwc.subpixel variant's f16 inputs as 16-byte units too (the same buffers): where an input's channels are a
// multiple of 8, a patch unit of it is one aligned load.
layout(std430, binding = 0) readonly buffer X8 { uvec4 x8[]; };
layout(std430, binding = 4) readonly buffer X28 { uvec4 x28[]; };
#define KILN_SUBPIXEL_UNITS 1
#endif

shared uvec4 Ps[(KILN_SHARED_A != 0 ? 1 : 2) * PATCH]; // two patch buffers (.sa: one), 8 f16 channels per uvec4
#if KILN_SHARED_A
const int QA = (CK + 8) / 8;               // uvec4 per weight row of a tap: CK channels and 16 bytes of padding
const int A_UNITS = KH * KW * BM * G;      // 16-byte weight units per step
const int A_PER = (A_UNITS + THREADS - 1) / THREADS;
shared uvec4 As[KH * KW * BM * QA];        // the step's weight blocks, [tap][row][QA]
layout(std430, binding = 1) readonly buffer Wp8 { uvec4 wp8[]; };
uvec4 stagedA[A_UNITS_MAX];

// The weight units of the step from input channel c0 into registers: unit u is channels c0 + 8 g.. of row m0 + r at tap
// t, consecutive invocations along a row's units and then the rows (reads along the packed weight's rows). The packed
// weight pads its rows to the channel tiles and its columns to CK: every unit lies inside it.
void loadA(int c0, int m0, int tid)
{
    [[unroll]] for (int q = 0; q < A_PER; q++)
    {
        const int u = tid + q * THREADS, t = u / (BM * G), r = u / G % BM, g = u % G;
        if (u < A_UNITS) stagedA[q] = wp8[((t * p.cop + m0 + r) * p.cip + c0) / 8 + g];
    }
}

void storeA(int tid)
{
    [[unroll]] for (int q = 0; q < A_PER; q++)
    {
        const int u = tid + q * THREADS;
        if (u < A_UNITS) As[(u / G) * QA + u % G] = stagedA[q];
    }
}
#endif
shared float Bt[BM * S];                   // the bias tile: row r holds bias[m0 + r]
shared float Cs[SG_M * SG_N * S * LDC];    // one staging tile per subgroup (edge blocks)

// Per unit of this invocation: the offset of its pixel's first channel in x (channel 0 of the step added per step;
// with concatenated reads the pixel's index in its image plane), and whether the pixel lies inside the image (bit q);
// the next step's units, packed, between load and store.
int unitOffset[UNITS_MAX];
int tileImage; // the image of the workgroup's tile
int tapBase;   // the workgroup's first tap in the packed weight (.phases: its phase's)
uint unitInside;
uvec4 staged[UNITS_MAX];

void load(int c0, int tid)
{
    const int plane = p.h * p.w;
    [[unroll]] for (int q = 0; q < PER; q++)
    {
        const int u = tid + q * THREADS, g = UNIT_GROUP(u);
        const bool ok = u < UNITS && ((unitInside >> q) & 1u) != 0u;
        const int left = p.cin - c0 - g * 8;   // channels of this unit's 8 that exist
#if KILN_UNIT_LOADS
        if (p.cin % 8 == 0)                    // uniform: every unit whole or wholly past Cin, every offset a multiple of 8
        {
            staged[q] = ok && left > 0 ? x8[(unitOffset[q] + c0) / 8] : uvec4(0u);
            continue;
        }
#endif
        act_t v[8];
#if KILN_CONCAT_READS
        const int b = tileImage, iy = unitOffset[q] / p.w, ix = unitOffset[q] % p.w;
        [[unroll]] for (int e = 0; e < 8; e++)
            v[e] = ok && e < left ? kiln_concat_read(b, c0 + g * 8 + e, iy, ix, p.cin, p.h, p.w) : act_t(0.0);
#else
#if KILN_NHWC
        const int base = unitOffset[q] + c0, stride = 1;
#else
        const int base = unitOffset[q] + c0 * plane, stride = plane;
#endif
        [[unroll]] for (int e = 0; e < 8; e++)
        {
            const bool inside = ok && e < left;
            const act_t read = x[inside ? base + e * stride : 0];
            v[e] = inside ? read : act_t(0.0);
        }
#endif
        staged[q] = kiln_pack_f16x8(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    }
}

void store(int buf, int tid)
{
    [[unroll]] for (int q = 0; q < PER; q++)
    {
        const int u = tid + q * THREADS;
        if (u < UNITS)
        {
            Ps[buf * PATCH + UNIT_PIXEL(u) * Q + UNIT_GROUP(u)] = staged[q];
        }
    }
}

#if KILN_SUBPIXEL
const int PC_A = TW + 1, PIXELS_A = (TH + 1) * PC_A; // a's patch at its own resolution (b's: PR x PC above)
int py, px;     // the phase
int ca, cb;     // channels of the upsampled input a and of the other, b
int stepsA;     // reduction steps over a's channels (then over b's)

// Patch unit u of a segment of `pixels` patch pixels: its channel group and its pixel (as UNIT_GROUP, UNIT_PIXEL).
#if KILN_NHWC
#define SEGMENT_GROUP(u, pixels) ((u) % G)
#define SEGMENT_PIXEL(u, pixels) ((u) / G)
#else
#define SEGMENT_GROUP(u, pixels) ((u) / (pixels))
#define SEGMENT_PIXEL(u, pixels) ((u) % (pixels))
#endif

// Step s's patch into registers: a's (TH + 1) x (TW + 1) pixels from (oy0 + py - 1, ox0 + px - 1) of its small tensor
// while s < stepsA, then b's PR x PC from (2 oy0 + py - 1, 2 ox0 + px - 1) at full resolution.
void loadSubPixel(int s, int tid, int oy0, int ox0)
{
    const bool low = s < stepsA;
    const int c0 = (low ? s : s - stepsA) * CK, channels = low ? ca : cb;
    const int hh = low ? p.h / 2 : p.h, ww = low ? p.w / 2 : p.w, plane = hh * ww;
    const int cols = low ? PC_A : PC, pixels = low ? PIXELS_A : PIXELS;
    const int y0 = low ? oy0 + py - 1 : 2 * oy0 + py - 1, x0 = low ? ox0 + px - 1 : 2 * ox0 + px - 1;
    const bool fromX = low == (SC1 != 1);
#if KILN_NHWC
    const int stride = 1;
#else
    const int stride = plane;
#endif
    [[unroll]] for (int q = 0; q < PER; q++)
    {
        const int u = tid + q * THREADS, g = SEGMENT_GROUP(u, pixels), pix = SEGMENT_PIXEL(u, pixels);
        const int iy = y0 + pix / cols, ix = x0 + pix % cols;
        const bool ok = u < pixels * G && iy >= 0 && iy < hh && ix >= 0 && ix < ww;
        const int left = channels - c0 - g * 8;
        const int base = ok ? KILN_ACT_INDEX(tileImage, c0 + g * 8, iy, ix, channels, hh, ww) : 0;
#if KILN_SUBPIXEL_UNITS
        if (channels % 8 == 0)                 // uniform: every unit whole or wholly past the channels, base a multiple of 8
        {
            staged[q] = ok && left > 0 ? (fromX ? x8[base / 8] : x28[base / 8]) : uvec4(0u);
            continue;
        }
#endif
        act_t v[8];
        [[unroll]] for (int e = 0; e < 8; e++)
        {
            const bool inside = ok && e < left;
            const int at = inside ? base + e * stride : 0;
            const act_t read = fromX ? x[at] : x2[at];
            v[e] = inside ? read : act_t(0.0);
        }
        staged[q] = kiln_pack_f16x8(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    }
}

void storeSubPixel(int s, int buf, int tid)
{
    const int pixels = s < stepsA ? PIXELS_A : PIXELS;
    [[unroll]] for (int q = 0; q < PER; q++)
    {
        const int u = tid + q * THREADS;
        if (u < pixels * G) Ps[buf * PATCH + SEGMENT_PIXEL(u, pixels) * Q + SEGMENT_GROUP(u, pixels)] = staged[q];
    }
}
#endif

// Fragment i of the subgroup's weight rows at tap `tap` of the packed weight [taps, COP, CIP] and input channel c: its
// S x S block of rows m0 + (sgm TM + i) S.. and columns c.. (every loop below loads the weight through it).
coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> loadWeight(const int tap, const int c, const int m0, const int sgm, const int i)
{
    coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a;
    coopMatLoad(a, wp, uint(((tapBase + tap) * p.cop + m0 + sgm * TM * S + i * S) * p.cip + c), uint(p.cip), gl_CooperativeMatrixLayoutRowMajor);
    return a;
}

void main()
{
#if KILN_PHASES
    // This workgroup's phase: its padding and pixel grid (its taps are every phase's KH x KW: a phase with fewer, as a 3x3
    // stride-2 layer's have, runs as KH x KW with zero weights for the taps it lacks, the packing's, so its padding is
    // that of the larger kernel).
    const KilnPhaseGrid grid = kiln_phase_grid(int(gl_WorkGroupID.z));
    const int ry = grid.ry, rx = grid.rx, padH = grid.padH, padW = grid.padW, OH = grid.ay.q, OW = grid.ax.q;
    tapBase = grid.tapBase;
#else
    const int padH = PH, padW = PW, OH = p.oh, OW = p.ow;
    tapBase = 0;
#endif
    const int COUT = p.cout, HW = OH * OW;
    const int tid = int(gl_LocalInvocationID.x);
    const int sg = int(gl_SubgroupID), lane = int(gl_SubgroupInvocationID);
    const int sgm = sg / SG_N, sgn = sg % SG_N;
    const int tilesX = (OW + TW - 1) / TW, tilesY = (OH + TH - 1) / TH;
    const int tile = int(gl_WorkGroupID.x);
    const int ox0 = (tile % tilesX) * TW, oy0 = (tile / tilesX % tilesY) * TH, b = tile / (tilesX * tilesY);
    const int m0 = int(gl_WorkGroupID.y) * BM;
#if KILN_PHASES
    if (b >= p.n) return; // a tile past a smaller phase's grid (uniform in the workgroup)
#endif
    tileImage = b;
#if KILN_SUBPIXEL
    py = int(gl_WorkGroupID.z) / 2;
    px = int(gl_WorkGroupID.z) % 2;
    ca = SC1 != 1 ? C1 : p.cin - C1;
    cb = p.cin - ca;
    stepsA = (ca + CK - 1) / CK;
#endif

    unitInside = 0u;
    [[unroll]] for (int q = 0; q < (KILN_SUBPIXEL != 0 ? 0 : PER); q++)
    {
        const int u = tid + q * THREADS, g = UNIT_GROUP(u), pix = UNIT_PIXEL(u);
        const int iy = oy0 * SH + pix / PC - padH, ix = ox0 * SW + pix % PC - padW;
#if KILN_CONCAT_READS
        unitOffset[q] = iy * p.w + ix;
#else
        unitOffset[q] = KILN_ACT_INDEX(b, g * 8, iy, ix, p.cin, p.h, p.w);
#endif
        if (u < UNITS && iy >= 0 && iy < p.h && ix >= 0 && ix < p.w) unitInside |= 1u << q;
    }
    for (int e = tid; e < BM * S; e += THREADS)
    {
        const int co = m0 + e / S;
        Bt[e] = HAS_BIAS != 0 && co < COUT ? bias[co] : 0.0;
    }

#if KILN_SUBPIXEL
    const int steps = stepsA + (cb + CK - 1) / CK;
#else
    const int steps = (p.cin + CK - 1) / CK;
#endif
#if KILN_DIRECT_B && defined(KILN_F16_STORAGE)
    // Variant *.nhwc.direct: an interior tile (every tap of its TH x TW pixels inside the image, Cin a multiple of CK)
    // loads each tap's B matrix straight from x, S channels by S pixels SW * Cin apart, column-major: no patch, no
    // staging barrier; its L1 cache serves what the patch would have shared between the taps. Other tiles stage as the
    // plain variant does. The same products in the same order.
    const bool interior = p.cin % CK == 0 && oy0 + TH <= OH && ox0 + TW <= OW && oy0 * SH - padH >= 0
        && (oy0 + TH - 1) * SH - padH + (KH - 1) * DH < p.h && ox0 * SW - padW >= 0 && (ox0 + TW - 1) * SW - padW + (KW - 1) * DW < p.w;
#else
    const bool interior = false;
#endif
    if (!interior)
    {
#if KILN_SUBPIXEL
        loadSubPixel(0, tid, oy0, ox0);
        storeSubPixel(0, 0, tid);
#else
        load(0, tid);
        store(0, tid);
#endif
    }
#if KILN_SHARED_A
    loadA(0, m0, tid);
    storeA(tid);
#endif
    barrier();

    coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> acc[TM_MAX][TN_MAX];
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j++)
            coopMatLoad(acc[i][j], Bt, uint((sgm * TM * S + i * S) * S), uint(S), gl_CooperativeMatrixLayoutRowMajor);

#if KILN_DIRECT_B && defined(KILN_F16_STORAGE)
    if (interior)
        [[dont_unroll]] for (int s = 0; s < steps; s++)
            [[dont_unroll]] for (int ky = 0; ky < KH; ky++)
                [[dont_unroll]] for (int kx = 0; kx < KW; kx++)
                    [[unroll]] for (int kk = 0; kk < CK; kk += S)
                    {
                        const int c = s * CK + kk;
                        coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a[TM_MAX];
                        [[unroll]] for (int i = 0; i < TM; i++) a[i] = loadWeight(ky * KW + kx, c, m0, sgm, i);
                        [[unroll]] for (int j = 0; j < TN; j++)
                        {
                            coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> bm;
                            coopMatLoad(bm, x, uint(KILN_ACT_INDEX(b, c, (oy0 + sgn * TN + j) * SH - padH + ky * DH, ox0 * SW - padW + kx * DW, p.cin, p.h, p.w)),
                                        uint(SW * p.cin), gl_CooperativeMatrixLayoutColumnMajor);
                            [[unroll]] for (int i = 0; i < TM; i++) acc[i][j] = coopMatMulAdd(a[i], bm, acc[i][j]);
                        }
                    }
    else
#endif
#if KILN_SUBPIXEL
    [[dont_unroll]] for (int s = 0; s < steps; s++)
    {
        // As below, by segment (uniform): the phase's 2x2 taps over a's patch (unit column stride), then the 3x3 over
        // b's (column stride SW = 2), each tap's weight block at its place in the packed [16 + 9, COP, CIP].
        const int cur = s & 1;
        const bool low = s < stepsA;
        const int c0 = (low ? s : s - stepsA) * CK, taps = low ? 2 : 3, cols = low ? PC_A : PC, rowStep = low ? 1 : SH;
        const int colStep = low ? 1 : SW, firstTap = low ? (py * 2 + px) * 4 : 16;
        if (s + 1 < steps) loadSubPixel(s + 1, tid, oy0, ox0);
        [[dont_unroll]] for (int ty = 0; ty < taps; ty++)
            [[dont_unroll]] for (int tx = 0; tx < taps; tx++)
                [[unroll]] for (int kk = 0; kk < CK; kk += S)
                {
                    coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a[TM_MAX];
                    [[unroll]] for (int i = 0; i < TM; i++) a[i] = loadWeight(firstTap + ty * taps + tx, c0 + kk, m0, sgm, i);
                    [[unroll]] for (int j = 0; j < TN; j++)
                    {
                        coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> bm;
                        coopMatLoad(bm, Ps, uint(cur * PATCH + (((sgn * TN + j) * rowStep + ty) * cols + tx) * Q + kk / 8), uint(colStep * Q),
                                    gl_CooperativeMatrixLayoutColumnMajor);
                        [[unroll]] for (int i = 0; i < TM; i++) acc[i][j] = coopMatMulAdd(a[i], bm, acc[i][j]);
                    }
                }
        if (s + 1 < steps) storeSubPixel(s + 1, cur ^ 1, tid);
        barrier();
    }
#elif KILN_SHARED_A
    [[dont_unroll]] for (int s = 0; s < steps; s++)
    {
        // This step's patch and weights are in shared memory (the first's stored before the loop); the next step's are
        // read into registers before the products and stored after them, between the barrier that ends this step's reads
        // and the one that publishes them.
        const int c0 = s * CK;
        if (s + 1 < steps)
        {
            load(c0 + CK, tid);
            loadA(c0 + CK, m0, tid);
        }
        [[dont_unroll]] for (int u = 0; u < KH * KW * KK; u++)
        {
            const int tap = u / KK, kk = (u % KK) * S, ky = tap / KW, kx = tap % KW;
            coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a[TM_MAX];
            [[unroll]] for (int i = 0; i < TM; i++)
                coopMatLoad(a[i], As, uint((tap * BM + sgm * TM * S + i * S) * QA + kk / 8), uint(QA), gl_CooperativeMatrixLayoutRowMajor);
            [[unroll]] for (int j = 0; j < TN; j++)
            {
                coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> bm;
                coopMatLoad(bm, Ps, uint((((sgn * TN + j) * SH + ky * DH) * PC + kx * DW) * Q + kk / 8), uint(SW * Q),
                            gl_CooperativeMatrixLayoutColumnMajor);
                [[unroll]] for (int i = 0; i < TM; i++) acc[i][j] = coopMatMulAdd(a[i], bm, acc[i][j]);
            }
        }
        barrier();
        if (s + 1 < steps)
        {
            store(0, tid);
            storeA(tid);
        }
        barrier();
    }
#else
    [[dont_unroll]] for (int s = 0; s < steps; s++)
    {
        const int cur = s & 1, c0 = s * CK;
        // The next step's patch is loaded while this one is multiplied, and stored into the other buffer after it; the
        // barrier at the end of the step orders both (the other buffer was last read in the previous step).
        if (s + 1 < steps) load(c0 + CK, tid);
        // The taps and the step's S-channel slices run as one loop, u = tap * KK + slice (each iteration TM + TN matrix
        // loads and TM * TN products; unrolled, lavapipe's compile of the kernel takes tens of seconds). The weight's
        // fragments come from global memory one iteration ahead: the next iteration's are requested before this one's
        // products, so their latency runs under them (the last iteration requests its own again, unused).
        coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a[TM_MAX], ahead[TM_MAX];
        [[unroll]] for (int i = 0; i < TM; i++) a[i] = loadWeight(0, c0, m0, sgm, i);
        [[dont_unroll]] for (int u = 0; u < KH * KW * KK; u++)
        {
            const int tap = u / KK, kk = (u % KK) * S, ky = tap / KW, kx = tap % KW, next = min(u + 1, KH * KW * KK - 1);
            [[unroll]] for (int i = 0; i < TM; i++) ahead[i] = loadWeight(next / KK, c0 + next % KK * S, m0, sgm, i);
            [[unroll]] for (int j = 0; j < TN; j++)
            {
                // Channels c0 + kk.. (rows) by the inputs of the S pixels of output row sgn * TN + j at the tap (columns).
                coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> bm;
                coopMatLoad(bm, Ps, uint(cur * PATCH + (((sgn * TN + j) * SH + ky * DH) * PC + kx * DW) * Q + kk / 8), uint(SW * Q),
                            gl_CooperativeMatrixLayoutColumnMajor);
                [[unroll]] for (int i = 0; i < TM; i++) acc[i][j] = coopMatMulAdd(a[i], bm, acc[i][j]);
            }
            [[unroll]] for (int i = 0; i < TM; i++) a[i] = ahead[i];
        }
        if (s + 1 < steps) store(cur ^ 1, tid);
        barrier();
    }
#endif

    // Epilogue: the activation per element (it does not depend on the position), then each S x S block to Y.
    // A tile that lies wholly inside Y with 16-byte aligned rows (OW and OH * OW multiples of 8) is stored straight from
    // the accumulators; any other goes through the subgroups' staging tiles, element by element with bounds. The branch
    // is uniform in the workgroup, and so is every cooperative-matrix operation (lavapipe mishandles ones that only
    // some subgroups of a workgroup reach).
#if KILN_POOL
    // Variant *.pool (include/pool_epilogue.glsl): output rows 2k and 2k + 1 are accumulators j = 2k, 2k + 1 of one
    // subgroup (TN even, tiles of even rows and S columns); each goes through the staging tile in turn, and the lanes
    // keep the maxima of their column pairs between them, then write the pooled rows (.pool.keep: and each row, from
    // the staging tile, at binding 4).
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j += 2)
        {
            const int co0 = m0 + sgm * TM * S + i * S, oy = oy0 + sgn * TN + j;
            float best[POOL_PER];
            [[unroll]] for (int q = 0; q < POOL_PER; q++) best[q] = -1.0 / 0.0;
            [[unroll]] for (int h2 = 0; h2 < 2; h2++)
            {
                coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> c = acc[i][j + h2];
                if (ACT != ACT_NONE)
                    for (int e = 0; e < c.length(); e++) c[e] = kiln_activate(c[e], ACT, SLOPE);
                coopMatStore(c, Cs, uint(sg * S * LDC), uint(LDC), gl_CooperativeMatrixLayoutRowMajor);
                subgroupMemoryBarrierShared();
                subgroupBarrier();
                [[unroll]] for (int q = 0; q < POOL_PER; q++)
                {
                    const int e = lane + q * SGS, r = e / (S / 2), pc = e % (S / 2);
                    if (e < S * S / 2)
                    {
                        const float v0 = Cs[sg * S * LDC + r * LDC + 2 * pc], v1 = Cs[sg * S * LDC + r * LDC + 2 * pc + 1];
                        best[q] = kiln_pool_max(kiln_pool_max(best[q], v0), v1);
#if KILN_POOL_KEEP
                        // .pool.keep: the row's two values as well (OW even: both in or both out).
                        const int co = co0 + r, ox = ox0 + 2 * pc;
                        if (co < COUT && oy + h2 < OH && ox < OW)
                        {
                            kept[KILN_ACT_INDEX(b, co, oy + h2, ox, COUT, OH, OW)] = act_t(v0);
                            kept[KILN_ACT_INDEX(b, co, oy + h2, ox + 1, COUT, OH, OW)] = act_t(v1);
                        }
#endif
                    }
                }
                subgroupMemoryBarrierShared();
                subgroupBarrier();
            }
            [[unroll]] for (int q = 0; q < POOL_PER; q++)
            {
                const int e = lane + q * SGS, r = e / (S / 2), pc = e % (S / 2), co = co0 + r, ox = ox0 + 2 * pc;
                if (e < S * S / 2 && co < COUT && oy < OH && ox < OW)
                    y[KILN_ACT_INDEX(b, co, oy / 2, ox / 2, COUT, OH / 2, OW / 2)] = act_t(best[q]);
            }
        }
    return;
#endif
#if KILN_SUBPIXEL
    const int osh = 2, osw = 2, ory = py, orx = px;
#elif KILN_PHASES
    const int osh = OSH, osw = OSW, ory = ry, orx = rx;
#else
    const int osh = max(OSH, 1), osw = max(OSW, 1), ory = ORY, orx = ORX;
#endif
#if KILN_NHWC
    const bool aligned = COUT % 8 == 0;
#else
    const bool aligned = OW % 8 == 0 && HW % 8 == 0;
#endif
    const bool direct = KILN_UNPOOL == 0 && osh == 1 && osw == 1 && aligned && m0 + BM <= COUT && ox0 + TW <= OW && oy0 + TH <= OH;
    const int FH = KILN_SUBPIXEL != 0 ? 2 * OH : FULL_H != 0 ? FULL_H : OH, FW = KILN_SUBPIXEL != 0 ? 2 * OW : FULL_W != 0 ? FULL_W : OW;
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j++)
        {
            const int co0 = m0 + sgm * TM * S + i * S, oy = oy0 + sgn * TN + j;
            coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> c = acc[i][j];
#if !KILN_GRAD_EPILOGUE
            if (ACT != ACT_NONE)
                for (int e = 0; e < c.length(); e++) c[e] = kiln_activate(c[e], ACT, SLOPE);
#endif
            if (direct)
            {
#if KILN_ACT_GRAD
                // The activation's output block, converted to the accumulators' own type: element e of two matrices of
                // one type is the same pixel (matrices of another component type may hold their elements otherwise).
                coopmat<act_t, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> ya;
#if KILN_NHWC
                coopMatLoad(ya, actOut, uint(KILN_ACT_INDEX(b, co0, oy, ox0, COUT, OH, OW)), uint(COUT), gl_CooperativeMatrixLayoutColumnMajor);
#else
                coopMatLoad(ya, actOut, uint((b * COUT + co0) * HW + oy * OW + ox0), uint(HW), gl_CooperativeMatrixLayoutRowMajor);
#endif
                const coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> yf = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(ya);
                for (int e = 0; e < c.length(); e++) c[e] *= kiln_activation_derivative(yf[e], ACT, SLOPE);
#endif
                coopmat<act_t, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> o = coopmat<act_t, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(c);
#if KILN_NHWC
                coopMatStore(o, y, uint(KILN_ACT_INDEX(b, co0, oy, ox0, COUT, OH, OW)), uint(COUT), gl_CooperativeMatrixLayoutColumnMajor);
#else
                coopMatStore(o, y, uint((b * COUT + co0) * HW + oy * OW + ox0), uint(HW), gl_CooperativeMatrixLayoutRowMajor);
#endif
            }
            else
            {
                coopMatStore(c, Cs, uint(sg * S * LDC), uint(LDC), gl_CooperativeMatrixLayoutRowMajor);
                subgroupMemoryBarrierShared();
                subgroupBarrier();
                for (int e = lane; e < S * S; e += SGS)
                {
                    const int r = e / S, col = e % S, co = co0 + r, ox = ox0 + col;
                    if (co < COUT && oy < OH && ox < OW)
                    {
#if KILN_UNPOOL
                        kiln_unpool_store(Cs[sg * S * LDC + r * LDC + col], b, co, oy, ox, COUT, OH, OW, ACT, SLOPE);
#else
                        const int o = KILN_ACT_INDEX(b, co, oy * osh + ory, ox * osw + orx, COUT, FH, FW);
#if KILN_ACT_GRAD
                        y[o] = act_t(kiln_act_grad(Cs[sg * S * LDC + r * LDC + col], o, ACT, SLOPE));
#else
                        y[o] = act_t(Cs[sg * S * LDC + r * LDC + col]);
#endif
#endif
                    }
                }
                subgroupMemoryBarrierShared();
                subgroupBarrier();
            }
        }
}
