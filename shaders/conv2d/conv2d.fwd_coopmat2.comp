#version 450
// 2-D convolution forward as an implicit GEMM on workgroup-scope cooperative matrices (VK_NV_cooperative_matrix2) for
// Precision.Fp16:
//   Y[co, p] = act(bias[co] + sum over tap t = (ky, kx), ci of W[co, ci, ky, kx] * X[ci, pixel p shifted by tap t]),
// C [Cout x pixels] = A [Cout x K] * B [K x pixels], K running over the taps, then the input channels within a tap.
// A workgroup computes one BM x BN tile of C (BM output channels by BN consecutive output pixels of the batch, rows of
// all images end to end) as ONE workgroup-scope accumulator: the driver spreads its fragments over the workgroup's
// subgroups and tensor cores, the shader writes no per-subgroup tiling. Per step (one tap, BK input channels):
//   A: the BM x BK block of the weight, pre-packed to f16 by conv2d.pack_weight_f16.comp as [KH*KW, COP, CIP] (zero rows
//      and columns pad Cout to BM and Cin to BK, so no load leaves it), loaded straight from global memory;
//   B: the step's BK x BN slice of the im2col matrix, gathered into shared memory (zeros for padding and past the
//      edges): each invocation owns CPT pixel columns, its input offsets computed once per tap, and walks the
//      channels H*W apart; consecutive invocations take consecutive pixels (coalesced reads along a row).
// The next step's slice is read into registers while this step's product runs (one shared buffer, two barriers a step).
// Epilogue: bias and activation on the f32 accumulator per element (coopMatPerElementNV), the result rounded to f16
// and stored through shared memory, then written to Y with bounds checks, consecutive invocations on consecutive
// pixels. (In the f32 build, for f32 activations, the result is rounded to f16 on the way too: an fp16-arithmetic kernel.)
// The .pool variant (include/pool_epilogue.glsl) orders each tile's pixels by the 2 x 2 windows of the max pool that
// follows, four consecutive columns a window, and writes only the maxima ([N, Cout, OH/2, OW/2] at binding 3); its
// .pool.keep form the window's four values too, at binding 4 ([N, Cout, OH, OW]), in either layout.
// With KILN_SUBGROUP_SCOPE (the .subgroup variant) the same kernel runs with subgroup-scope matrices in a workgroup of
// one subgroup: the form that devices without workgroup scope but with flexible dimensions (lavapipe of Mesa 26) run,
// which is how the tests check this kernel's arithmetic there.
// Shared memory: max(BK, BM) * (BN + 8) * 2 bytes, one array for the B slice and then the result tile (64 x 128 x 32:
// 17 KiB). Registers: BK * BN / THREADS
// <= REG_MAX staged f16 per invocation (Conv2dCoopMat2.Fits).
// The .nhwc variant (KILN_NHWC) takes x and y channels-last: an invocation stages runs of 8 consecutive channels of
// a pixel (one 16-byte load where Cin is a multiple of 8 and the activations f16; BK / 8 invocations a pixel, consecutive invocations along the channels and then the pixels, so reads run
// along x's rows), the B slice lies pixel-major in shared memory (a column-major load) and so does the result tile,
// written to Y channel-fastest.
// The .subpixel variant (KILN_SUBPIXEL; Conv2dCoopMat2SubPixel; under .nhwc with f16 activations an input whose channels
// are a multiple of 8 is read in 16-byte units) computes a 3x3, stride-1, padding-1 convolution of a
// concatenation in which one input is upsampled 2x by nearest neighbour (a UNet decoder's) without its redundant
// products: at an output pixel (2i + py, 2j + px) of phase (py, px) the upsampled input's 3x3 taps fall on 2x2 pixels of
// the small tensor, (i + ty + py - 1, j + tx + px - 1), so the phase's convolution of it has 2x2 taps whose weights are
// sums of the 3x3 ones (packed per phase by conv2d.pack_weight_f16.comp, SUBPIXEL). A workgroup computes a tile of one
// phase's pixels (the phase gl_WorkGroupID.z): its reduction runs over those 4 taps of the small input's channels and
// then the 9 taps of the other input at full resolution, 4/9 of the upsampled channels' products. x is the first input
// of the concatenation, x2 the second (bindings 0 and 4), SC1 and SC2 (constants 21, 22) say which is upsampled.
// Bindings: 0 x [N,Cin,H,W] (act_t)  1 wp [KH*KW, COP, CIP] (float16_t)  2 bias [Cout] (float; unused when HAS_BIAS=0)
//           3 y [N,Cout,OH,OW] (act_t)  4 x2 (the .concat variant: x is the first part of a concatenation, include/concat_reads.glsl)
//           x, y and x2 [N,H,W,C] in the .nhwc variant
//           4 the .dact variant's activation output (include/act_grad_epilogue.glsl), laid out as y
// Variant .phases (KILN_PHASES; with .dact, .nhwc and .subgroup forms; Conv2dInputGradCoopMatStrided): every output
// phase of a strided layer's input gradient (or of a strided transposed convolution) in one dispatch, the phase
// gl_WorkGroupID.z = ry OSW + rx, each run as KH x KW taps (the largest phase's; zero weights for those a phase lacks,
// which conv2d.pack_weight_f16 writes, and the padding of the larger kernel). Specialization 26..31 are the layer's kernel,
// padding and dilation (its stride OSH, OSW; dX FULL_H x FULL_W): include/phase_grid.glsl derives each phase's padding and
// pixel grid (PH, PW, ORY, ORX and the push constants' oh, ow are unused), and the packed weight holds every phase's
// KH x KW taps one phase after the other (conv2d.pack_weight_f16's PHASES form). x counts the tiles of phase 0's
// pixels, the most; a smaller phase's workgroups past its own return at once. As the patch kernel's .phases.
// Specialization: 0 KH, 1 KW, 2 SH, 3 SW, 4 PH, 5 PW (may be negative: a strided input gradient's phase), 6 DH, 7 DW,
//                 8 HAS_BIAS, 9 ACT, 10 SLOPE (float), 11 BM, 12 BN, 13 BK, 14 THREADS (the workgroup's invocations),
//                 16 OSH, 17 OSW, 18 ORY, 19 ORX, 23 FULL_H, 24 FULL_W (the output phase), 26 LKH, 27 LKW, 28 LPH,
//                 29 LPW, 30 LDH, 31 LDW (.phases: the layer's)
// Push constants: n, cin, cout, h, w, oh, ow, cop, cip (COP a multiple of BM, CIP of BK)
//                 (.subpixel: the packed weight [16 + 9, COP, CIP], the 2x2 taps of each phase (py 2 + px) and then the
//                 other input's 3x3; CIP a multiple of BK past both inputs' channels)
// Dispatch: x = ceil(N * OH * OW / BN) pixel tiles, y = ceil(Cout / BM) channel tiles; local x = THREADS
//           (.subpixel: x = ceil(N * OH/2 * OW/2 / BN) tiles of a phase's pixels, z = 4 phases; .phases: z = OSH * OSW)
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int32 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "storage.glsl"

#ifndef KILN_SUBPIXEL
#define KILN_SUBPIXEL 0
#endif

#ifdef KILN_SUBGROUP_SCOPE
#define SCOPE gl_ScopeSubgroup
#else
#define SCOPE gl_ScopeWorkgroup
#endif

#define REG_MAX 64      // staged f16 per invocation and step, at most
#define CPT_MAX 8       // pixel columns per invocation, at most
#define PAD 8           // f16 of padding per shared row (keeps rows 16-byte aligned, spreads banks)

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
layout(constant_id = 11) const int BM = 64;
layout(constant_id = 12) const int BN = 128;
layout(constant_id = 13) const int BK = 32;
layout(constant_id = 14) const int THREADS = 256;
// The output phase (a strided layer's input gradient, Conv2dInputGradCoopMatStrided): output pixel (oy, ox) goes to
// (oy OSH + ORY, ox OSW + ORX) of a FULL_H x FULL_W output (0: OH x OW, the plain convolution). Not with .pool.
layout(constant_id = 16) const int OSH = 0;
layout(constant_id = 17) const int OSW = 0;
layout(constant_id = 18) const int ORY = 0;
layout(constant_id = 19) const int ORX = 0;
layout(constant_id = 23) const int FULL_H = 0;
layout(constant_id = 24) const int FULL_W = 0;
#if KILN_PHASES
// .phases: specialization 26..31 and each workgroup's phase (include/phase_grid.glsl).
#include "phase_grid.glsl"
#endif

#if KILN_NHWC
// Invocations a pixel (one per 8 channels of the step), pixels a pass of the workgroup, pixel columns per invocation,
// staged channels per column; B slice and result tile pixel-major (BK + PAD and BM + PAD f16 per pixel).
const int KG = BK / 8;
const int PIX_PASS = THREADS / KG;
const int CPT = BN > PIX_PASS ? BN / PIX_PASS : 1;
const int RPT = 8;
const int RSTEP = 1;
const int LDB = BK + PAD;
const int LDC = BM + PAD;
const int SB_SIZE = BN * LDB, SC_SIZE = BN * LDC;
#define COLUMN(c) (col0 + (c) * PIX_PASS)
#define CHANNEL_STRIDE 1
#else
// Pixel columns per invocation, rows between an invocation's staged values, staged rows per column.
const int CPT = BN >= THREADS ? BN / THREADS : 1;
const int RSTEP = THREADS > BN ? THREADS / BN : 1;
const int RPT = BK / RSTEP;
const int LDB = BN + PAD;
const int LDC = BN + PAD;
const int SB_SIZE = BK * LDB, SC_SIZE = BM * LDC;
#define COLUMN(c) (col0 + (c) * THREADS)
#define CHANNEL_STRIDE plane
#endif

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer Wp { float16_t wp[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { act_t y[]; };

#if KILN_POOL
#include "pool_epilogue.glsl"
#endif
#if KILN_POOL_KEEP
// .pool.keep: window WIN's four values (column k of the window: pixel (k / 2, k % 2) of it), the f16 result tile's, to
// the unpooled output at binding 4, as the plain kernel writes them. area and pw: the pooled grid's (main).
#define KEEP_WINDOW(WIN, CO, VALUE_K)                                                                                  \
    {                                                                                                                  \
        const int kim = (WIN) / area, krem = (WIN) - kim * area, kpy = krem / pw, kpx = krem - kpy * pw;               \
        [[unroll]] for (int k = 0; k < 4; k++)                                                                         \
            kept[KILN_ACT_INDEX(kim, CO, 2 * kpy + k / 2, 2 * kpx + (k & 1), pc.cout, pc.oh, pc.ow)] = act_t(float(VALUE_K)); \
    }
#endif
#if KILN_ACT_GRAD
// Variant *.dact (include/act_grad_epilogue.glsl): an input gradient. The accumulator takes no activation; each
// element leaves through the derivative of the activation before it (ACT, SLOPE), from the f16 result tile, as the
// unfused plan's pass reads the stored f16 gradient.
#include "act_grad_epilogue.glsl"
const int FWD_ACT = ACT_NONE;
#elif KILN_UNPOOL
// Variant *.unpool (include/unpool_epilogue.glsl): a stride-1 input gradient whose layer reads a 2x2 max pool, written
// as the pool's input gradient (y [N,Cout,2 OH,2 OW]) from the f16 result tile, as the unfused pool pass reads the
// stored one; 4 the pool's input, 5 the addend, specialization 40 UNPOOL_SUM.
#include "unpool_epilogue.glsl"
const int FWD_ACT = ACT_NONE;
#else
const int FWD_ACT = ACT;
#endif
#if KILN_CONCAT_READS || KILN_SUBPIXEL
// Variant *.concat (include/concat_reads.glsl): x concatenated with x2 (binding 4), upsampled as the slice is gathered.
// Variant *.subpixel: its bindings and constants, one input's values read from the small tensor as they are.
#include "concat_reads.glsl"
#endif

layout(push_constant) uniform Push { int n, cin, cout, h, w, oh, ow, cop, cip; } pc;

#if KILN_NHWC && defined(KILN_F16_STORAGE) && !KILN_CONCAT_READS && !KILN_SUBPIXEL
// Channels-last f16 activations: x as 16-byte units too (the same buffer), so that where Cin is a multiple of 8 an
// invocation's 8 channels of a pixel are one aligned load; and, but under .pool (whose tiles are ordered by windows),
// interior tiles load B straight from x (main).
layout(std430, binding = 0) readonly buffer X8 { uvec4 x8[]; };
#define KILN_UNIT_LOADS 1
#if !KILN_POOL
#define KILN_DIRECT_B 1
#endif
#endif

#if KILN_SUBPIXEL && KILN_NHWC && defined(KILN_F16_STORAGE)
// The .nhwc.subpixel variant's f16 activations as 16-byte units too (the same buffers), so that where an input's
// channels are a multiple of 8 an invocation's 8 channels of a pixel are one aligned load (gather).
layout(std430, binding = 0) readonly buffer X8 { uvec4 x8[]; };
layout(std430, binding = 4) readonly buffer X28 { uvec4 x28[]; };
#define KILN_SUBPIXEL_UNITS 1
#endif

// One shared array for both: the step's B slice during the reduction, the f16 result tile after it (a barrier between).
shared float16_t smem[SB_SIZE > SC_SIZE ? SB_SIZE : SC_SIZE];
#define sB smem
#define sC smem

int pixels;        // N * OH * OW
int col0;          // this invocation's first pixel column in the tile
int row0;          // its first staged row (channel within the step; under .nhwc the first of its 8)
int img[CPT_MAX];  // per owned column: image, output row and column (img < 0: past the last pixel)
int oyS[CPT_MAX];
int oxS[CPT_MAX];
float16_t staged[REG_MAX];
// Where a pixel column's output goes: pixel (oy, ox) of the grid the columns enumerate (gw pixels a row) is pixel
// (oy osy + ory, ox osx + orx) of the fh x fw output (a strided gradient's phase, a .subpixel phase; else itself).
int gw, osy, osx, ory, orx, fh, fw;
// The convolution's padding and the workgroup's first tap in the packed weight (.phases: its phase's).
int padH, padW, tapBase;
#if KILN_SUBPIXEL
int py, px;                  // the phase
int ca, cb;                  // channels of the upsampled input and of the other
int chunksA, chunksB, stepsA;
#endif

#if KILN_SUBPIXEL
// The step's slice of B: while step < stepsA, tap (ty, tx) of the phase's 2x2 over the upsampled input's small tensor
// (its channels ci0 + row), then tap (ky, kx) of the 3x3 over the other input at full resolution.
void gather(int step)
{
    bool low = step < stepsA;
    int s = low ? step : step - stepsA, chunks = low ? chunksA : chunksB, taps = low ? 2 : 3;
    int t = s / chunks, ci0 = (s - t * chunks) * BK, ty = t / taps, tx = t - ty * taps;
    int channels = low ? ca : cb, hh = low ? pc.h / 2 : pc.h, ww = low ? pc.w / 2 : pc.w, plane = hh * ww;
    bool fromX = low == (SC1 != 1);
    [[unroll]] for (int c = 0; c < CPT; c++)
    {
        int iy = low ? oyS[c] + ty + py - 1 : 2 * oyS[c] + py + ty - 1;
        int ix = low ? oxS[c] + tx + px - 1 : 2 * oxS[c] + px + tx - 1;
        bool inside = img[c] >= 0 && iy >= 0 && iy < hh && ix >= 0 && ix < ww;
        int base = KILN_ACT_INDEX(img[c], ci0 + row0, iy, ix, channels, hh, ww);
#if KILN_SUBPIXEL_UNITS
        if (channels % 8 == 0)    // uniform per step: the 8 channels all exist or none, base a multiple of 8
        {
            uvec4 unit = uvec4(0u);
            if (inside && ci0 + row0 < channels) unit = fromX ? x8[base / 8] : x28[base / 8];
            [[unroll]] for (int k = 0; k < 4; k++)
            {
                f16vec2 pair = unpackFloat2x16(unit[k]);
                staged[c * RPT + 2 * k] = pair.x;
                staged[c * RPT + 2 * k + 1] = pair.y;
            }
            continue;
        }
#endif
        [[unroll]] for (int r = 0; r < RPT; r++)
        {
            int ci = ci0 + row0 + r * RSTEP, at = base + r * RSTEP * CHANNEL_STRIDE;
            float v = 0.0;
            if (inside && ci < channels) v = fromX ? float(x[at]) : float(x2[at]);
            staged[c * RPT + r] = float16_t(v);
        }
    }
}

// Step s's block of the packed weight: the phase's 2x2 taps, then the other input's 3x3.
uint weightAt(int s, int co0)
{
    bool low = s < stepsA;
    int r = low ? s : s - stepsA, chunks = low ? chunksA : chunksB, t = r / chunks, ci0 = (r - t * chunks) * BK;
    int tap = low ? (py * 2 + px) * 4 + t : 16 + t;
    return uint((tap * pc.cop + co0) * pc.cip + ci0);
}
#else

// The step's slice of B for this invocation: tap t, input channels ci0 + row.
void gather(int step)
{
    int chunks = pc.cip / BK;
    int t = step / chunks, ci0 = (step - t * chunks) * BK;
    int ky = t / KW, kx = t - ky * KW;
    int plane = pc.h * pc.w;
    [[unroll]] for (int c = 0; c < CPT; c++)
    {
        int iy = oyS[c] * SH - padH + ky * DH, ix = oxS[c] * SW - padW + kx * DW;
        bool inside = img[c] >= 0 && iy >= 0 && iy < pc.h && ix >= 0 && ix < pc.w;
        // Staged value r: channel ci0 + row0 + r RSTEP, RSTEP channels (planes, or elements under .nhwc) apart in x.
        int base = KILN_ACT_INDEX(img[c], ci0 + row0, iy, ix, pc.cin, pc.h, pc.w);
#if KILN_UNIT_LOADS
        if (pc.cin % 8 == 0)    // uniform: the 8 channels all exist or none, base a multiple of 8
        {
            uvec4 unit = inside && ci0 + row0 < pc.cin ? x8[base / 8] : uvec4(0u);
            [[unroll]] for (int k = 0; k < 4; k++)
            {
                f16vec2 pair = unpackFloat2x16(unit[k]);
                staged[c * RPT + 2 * k] = pair.x;
                staged[c * RPT + 2 * k + 1] = pair.y;
            }
            continue;
        }
#endif
        [[unroll]] for (int r = 0; r < RPT; r++)
        {
            int ci = ci0 + row0 + r * RSTEP;
#if KILN_CONCAT_READS
            staged[c * RPT + r] = inside && ci < pc.cin ? float16_t(float(kiln_concat_read(img[c], ci, iy, ix, pc.cin, pc.h, pc.w))) : float16_t(0.0);
#else
            staged[c * RPT + r] = inside && ci < pc.cin ? float16_t(float(x[base + r * RSTEP * CHANNEL_STRIDE])) : float16_t(0.0);
#endif
        }
    }
}

// Step s's block of the packed weight: tap t, input channels ci0...
uint weightAt(int s, int co0)
{
    int chunks = pc.cip / BK, t = s / chunks, ci0 = (s - t * chunks) * BK;
    return uint(((tapBase + t) * pc.cop + co0) * pc.cip + ci0);
}
#endif

void stage()
{
#if KILN_NHWC
    [[unroll]] for (int c = 0; c < CPT; c++)
        if (COLUMN(c) < BN)
            [[unroll]] for (int r = 0; r < RPT; r++) sB[COLUMN(c) * LDB + row0 + r] = staged[c * RPT + r];
#else
    [[unroll]] for (int c = 0; c < CPT; c++)
        [[unroll]] for (int r = 0; r < RPT; r++)
            sB[(row0 + r * RSTEP) * LDB + col0 + c * THREADS] = staged[c * RPT + r];
#endif
}

// A result element v on its way to y[o]: as it is, or through the activation's derivative (.dact).
#if KILN_ACT_GRAD
#define OUTPUT(v, o) kiln_act_grad(v, o, ACT, SLOPE)
#else
#define OUTPUT(v, o) (v)
#endif

float epilogue(const in uint32_t row, const in uint32_t col, const in float value, const in int co0)
{
    int co = co0 + int(row);
    float v = value + (HAS_BIAS != 0 && co < pc.cout ? bias[co] : 0.0);
    return kiln_activate(v, FWD_ACT, SLOPE);
}

void main()
{
    int tid = int(gl_LocalInvocationID.x);
    int p0 = int(gl_WorkGroupID.x) * BN, co0 = int(gl_WorkGroupID.y) * BM;
    padH = PH; padW = PW; tapBase = 0; // .phases: its phase's, below
#if KILN_NHWC
    col0 = tid / KG;
    row0 = (tid % KG) * 8;
#else
    col0 = tid % min(BN, THREADS);
    row0 = THREADS > BN ? tid / BN : 0;
#endif
#if KILN_POOL
    // Columns enumerate the pool's 2 x 2 windows, four consecutive columns a window: column p is pixel (p % 4 / 2,
    // p % 2) of window p / 4 (the pooled grid, image-major), so the epilogue takes the maxima of four neighbours.
    int pw = pc.ow / 2, area = (pc.oh / 2) * pw;
    pixels = pc.n * area * 4;
    [[unroll]] for (int c = 0; c < CPT; c++)
    {
        int p = p0 + COLUMN(c), win = p / 4, sub = p - (p / 4) * 4;
        int i = win / area, rem = win - (win / area) * area, py = rem / pw;
        img[c] = p < pixels && COLUMN(c) < BN ? i : -1;
        oyS[c] = 2 * py + sub / 2;
        oxS[c] = 2 * (rem - py * pw) + (sub & 1);
    }
#else
#if KILN_SUBPIXEL
    int phase = int(gl_WorkGroupID.z);
    py = phase >> 1;
    px = phase & 1;
    gw = pc.ow / 2;
    osy = 2; osx = 2; ory = py; orx = px; fh = pc.oh; fw = pc.ow;
    int area = (pc.oh / 2) * gw;
#elif KILN_PHASES
    // This workgroup's phase: its padding, pixel grid and taps (every phase's KH x KW).
    KilnPhaseGrid grid = kiln_phase_grid(int(gl_WorkGroupID.z));
    padH = grid.padH; padW = grid.padW; tapBase = grid.tapBase;
    gw = grid.ax.q;
    osy = OSH; osx = OSW; ory = grid.ry; orx = grid.rx; fh = FULL_H; fw = FULL_W;
    int area = grid.ay.q * grid.ax.q;
#else
    gw = pc.ow;
    osy = max(OSH, 1); osx = max(OSW, 1); ory = ORY; orx = ORX;
    fh = FULL_H != 0 ? FULL_H : pc.oh; fw = FULL_W != 0 ? FULL_W : pc.ow;
    int area = pc.oh * pc.ow;
#endif
    pixels = pc.n * area;
#if KILN_PHASES
    if (p0 >= pixels) return; // a tile past a smaller phase's pixels (uniform in the workgroup)
#endif
    [[unroll]] for (int c = 0; c < CPT; c++)
    {
        int p = p0 + COLUMN(c);
        int i = p / area, rem = p - (p / area) * area;
        img[c] = p < pixels && COLUMN(c) < BN ? i : -1;
        oyS[c] = rem / gw;
        oxS[c] = rem - (rem / gw) * gw;
    }
#endif

    coopmat<float, SCOPE, BM, BN, gl_MatrixUseAccumulator> acc = coopmat<float, SCOPE, BM, BN, gl_MatrixUseAccumulator>(0.0);
#if KILN_SUBPIXEL
    ca = SC1 != 1 ? C1 : pc.cin - C1;
    cb = pc.cin - ca;
    chunksA = (ca + BK - 1) / BK;
    chunksB = (cb + BK - 1) / BK;
    stepsA = 4 * chunksA;
    int steps = stepsA + 9 * chunksB;
#else
    int chunks = pc.cip / BK, steps = KH * KW * chunks;
#endif
#if KILN_DIRECT_B
    // An interior tile under .nhwc (f16, Cin a multiple of BK, not .pool or .concat): its BN pixels lie in one output
    // row and every tap's inputs inside the image, so each step's B slice is a column-major matrix of x itself (BK
    // consecutive channels by BN pixels SW * Cin apart), loaded straight from global memory: no gather, no staging, no
    // barrier. The same products in the same order as the staged path.
    int img0 = p0 / area, rem0 = p0 - img0 * area, oy0 = rem0 / gw, ox0 = rem0 - oy0 * gw;
    bool interior = pc.cin % BK == 0 && p0 + BN <= pixels && ox0 + BN <= gw
        && oy0 * SH - padH >= 0 && oy0 * SH - padH + (KH - 1) * DH < pc.h
        && ox0 * SW - padW >= 0 && (ox0 + BN - 1) * SW - padW + (KW - 1) * DW < pc.w;
#else
    const bool interior = false;
#endif
    if (interior)
    {
#if KILN_DIRECT_B
        for (int s = 0; s < steps; s++)
        {
            int t = s / chunks, ci0 = (s - t * chunks) * BK, ky = t / KW, kx = t - ky * KW;
            coopmat<float16_t, SCOPE, BM, BK, gl_MatrixUseA> a;
            coopmat<float16_t, SCOPE, BK, BN, gl_MatrixUseB> b;
            coopMatLoad(a, wp, uint(((tapBase + t) * pc.cop + co0) * pc.cip + ci0), uint(pc.cip), gl_CooperativeMatrixLayoutRowMajor);
            coopMatLoad(b, x, uint(KILN_ACT_INDEX(img0, ci0, oy0 * SH - padH + ky * DH, ox0 * SW - padW + kx * DW, pc.cin, pc.h, pc.w)),
                        uint(SW * pc.cin), gl_CooperativeMatrixLayoutColumnMajor);
            acc = coopMatMulAdd(a, b, acc);
        }
#endif
    }
    else
    {
        gather(0);
        for (int s = 0; s < steps; s++)
        {
            barrier();                      // the previous step's product has read sB
            stage();
            barrier();
            if (s + 1 < steps) gather(s + 1);
            coopmat<float16_t, SCOPE, BM, BK, gl_MatrixUseA> a;
            coopmat<float16_t, SCOPE, BK, BN, gl_MatrixUseB> b;
            coopMatLoad(a, wp, weightAt(s, co0), uint(pc.cip), gl_CooperativeMatrixLayoutRowMajor);
#if KILN_NHWC
            coopMatLoad(b, sB, 0, LDB, gl_CooperativeMatrixLayoutColumnMajor);
#else
            coopMatLoad(b, sB, 0, LDB, gl_CooperativeMatrixLayoutRowMajor);
#endif
            acc = coopMatMulAdd(a, b, acc);
        }
    }

    if (HAS_BIAS != 0 || FWD_ACT != ACT_NONE) coopMatPerElementNV(acc, acc, epilogue, co0);
    coopmat<float16_t, SCOPE, BM, BN, gl_MatrixUseAccumulator> result = coopmat<float16_t, SCOPE, BM, BN, gl_MatrixUseAccumulator>(acc);
    barrier();                          // every subgroup's last product has read the B slice the result tile replaces
#if KILN_NHWC
    // Pixel-major: a pixel's BM channels consecutive, as Y wants them; consecutive invocations write consecutive channels.
    coopMatStore(result, sC, 0, LDC, gl_CooperativeMatrixLayoutColumnMajor);
    barrier();
#if KILN_POOL
    for (int i = tid; i < BM * BN / 4; i += THREADS)
    {
        int row = i % BM, col = 4 * (i / BM);
        int co = co0 + row, win = (p0 + col) / 4;
        if (co >= pc.cout || p0 + col >= pixels) continue;
        float best = float(sC[col * LDC + row]);
        [[unroll]] for (int k = 1; k < 4; k++) best = kiln_pool_max(best, float(sC[(col + k) * LDC + row]));
        y[win * pc.cout + co] = act_t(best);    // the pooled grid image-major, channels fastest
#if KILN_POOL_KEEP
        KEEP_WINDOW(win, co, sC[(col + k) * LDC + row]);
#endif
    }
#else
    for (int i = tid; i < BM * BN; i += THREADS)
    {
        int row = i % BM, col = i / BM;
        int co = co0 + row, p = p0 + col;
        if (co >= pc.cout || p >= pixels) continue;
        int im = p / area, rem = p - im * area, oy = rem / gw, ox = rem - (rem / gw) * gw;
#if KILN_UNPOOL
        kiln_unpool_store(float(sC[col * LDC + row]), im, co, oy, ox, pc.cout, pc.oh, pc.ow, ACT, SLOPE);
        continue;
#endif
        int o = KILN_ACT_INDEX(im, co, oy * osy + ory, ox * osx + orx, pc.cout, fh, fw);
        y[o] = act_t(OUTPUT(float(sC[col * LDC + row]), o));
    }
#endif
    return;
#endif
    coopMatStore(result, sC, 0, LDC, gl_CooperativeMatrixLayoutRowMajor);
    barrier();
#if KILN_POOL
    for (int i = tid; i < BM * BN / 4; i += THREADS)
    {
        int row = i / (BN / 4), col = 4 * (i - (i / (BN / 4)) * (BN / 4));
        int co = co0 + row, win = (p0 + col) / 4;
        if (co >= pc.cout || p0 + col >= pixels) continue;
        float best = float(sC[row * LDC + col]);
        [[unroll]] for (int k = 1; k < 4; k++) best = kiln_pool_max(best, float(sC[row * LDC + col + k]));
        int im = win / area;
        y[(im * pc.cout + co) * area + win - im * area] = act_t(best);
#if KILN_POOL_KEEP
        KEEP_WINDOW(win, co, sC[row * LDC + col + k]);
#endif
    }
#else
    for (int i = tid; i < BM * BN; i += THREADS)
    {
        int row = i / BN, col = i - (i / BN) * BN;
        int co = co0 + row, p = p0 + col;
        if (co >= pc.cout || p >= pixels) continue;
        int im = p / area, rem = p - im * area;
#if KILN_UNPOOL
        kiln_unpool_store(float(sC[row * LDC + col]), im, co, rem / gw, rem - (rem / gw) * gw, pc.cout, pc.oh, pc.ow, ACT, SLOPE);
        continue;
#endif
        int o;
        if (FULL_H == 0 && KILN_SUBPIXEL == 0)
            o = (im * pc.cout + co) * area + rem;
        else
        {
            int oy = rem / gw, ox = rem - (rem / gw) * gw;
            o = ((im * pc.cout + co) * fh + oy * osy + ory) * fw + ox * osx + orx;
        }
        y[o] = act_t(OUTPUT(float(sC[row * LDC + col]), o));
    }
#endif
}
