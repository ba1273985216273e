#version 450
// 2-D convolution forward by Winograd's minimal filtering F(2x2, 3x3), for GPUs (f32 arithmetic): 3x3 kernels,
// stride 1, dilation 1, groups 1 (Conv2dWinograd). Each 2 x 2 tile of output pixels is
//   Y = A^T [ sum over input channels ci of (G g G^T) * (B^T d B) ] A
// with d the tile's 4 x 4 input patch, g the 3 x 3 kernel of (co, ci), * elementwise: 16 multiplications per tile and
// channel pair where the direct sum takes 36. The weight arrives transformed (conv2d.winograd_weight.comp, u = G g G^T).
// A workgroup of 256 invocations computes 32 tiles (TX across, 32 / TX down: 16 x 8 or 32 x 4 output pixels) of one
// image for 32 output channels. Input channels go in chunks of 8, read into registers a chunk ahead: each invocation
// transforms one channel's patch of one tile into shared memory, the workgroup stages the chunk's transformed weights,
// and then the 16 elements are 16 independent products [32 tiles x 8 channels] x [8 channels x 32 output channels],
// one per 16 invocations, each invocation accumulating 8 tiles x 8 output channels of its element. At the end the sums go back through shared
// memory, half the output channels at a time, for the output transform, bias and activation. The sums run in another
// order than the direct kernel's, with the transforms' roundings: the agreement with it is that of f32 sums, about
// 1e-6 of the largest value. f16 activations (the .f16 variant, storage.glsl) are widened to f32 as they are read.
// Variant *.nhwc (KILN_NHWC, with its .dact, .pool, .pool.keep and .concat forms): x and y channels-last (KILN_ACT_INDEX), the same
// sums in the same order.
// Bindings: 0 x [N,Cin,H,W] (act_t)  1 u [16, CIP, COP] (float, conv2d.winograd_weight.comp)
//           2 bias [Cout] (float; unused when HAS_BIAS=0)  3 y [N,Cout,OH,OW] (act_t; the .pool variant: [N,Cout,OH/2,OW/2])
//           4 the .dact variant's activation output (include/act_grad_epilogue.glsl), or the .pool.keep variant's
//           unpooled output [N,Cout,OH,OW] (act_t)
// Variant *.unpool (include/unpool_epilogue.glsl; an input gradient whose layer reads a 2x2 max pool): y is the pool's
// input gradient [N,Cout,2 OH,2 OW], 4 the pool's input, 5 the addend; specialization 40 UNPOOL_SUM
// Specialization: 0 PH, 1 PW, 2 HAS_BIAS, 3 ACT, 4 SLOPE (float), 5 CIN, 6 COUT, 7 H, 8 W, 9 OH, 10 OW,
//                 11 TX (tiles across a workgroup: 8 or 16; any divisor of 32 works), 12 CIP (Cin padded to 8), 13 COP (Cout padded to 32)
// Push constants: none
// Dispatch: x = ceil(ceil(OW / 2) / TX) * ceil(ceil(OH / 2) / (32 / TX)), y = ceil(Cout / 32), z = N; local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

#define KC 8                          // input channels per chunk
#define TILES 32                      // 2 x 2 output tiles per workgroup
#define BCO 32                        // output channels per workgroup
#define V_PITCH (KC * TILES)          // floats per element of the transformed input (the products read vec4s: the 8
#define U_PITCH (KC * BCO)            //   invocations of a quarter subgroup share an element, so no padding is needed)
#define U_BASE (16 * V_PITCH)
#define M_PITCH (16 * TILES)          // the sums of half the output channels, per element, at the end

layout(constant_id = 0) const int PH = 1;
layout(constant_id = 1) const int PW = 1;
layout(constant_id = 2) const int HAS_BIAS = 0;
layout(constant_id = 3) const int ACT = 0;
layout(constant_id = 4) const float SLOPE = 0.01;
layout(constant_id = 5) const int CIN = 1;
layout(constant_id = 6) const int COUT = 1;
layout(constant_id = 7) const int H = 1;
layout(constant_id = 8) const int W = 1;
layout(constant_id = 9) const int OH = 1;
layout(constant_id = 10) const int OW = 1;
layout(constant_id = 11) const int TX = 8;
layout(constant_id = 12) const int CIP = 8;
layout(constant_id = 13) const int COP = 32;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer U { vec4 u[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) writeonly buffer Y { act_t y[]; };

#if KILN_ACT_GRAD
// Variant *.dact (include/act_grad_epilogue.glsl): an input gradient, leaving through the derivative of the activation
// before it (ACT, SLOPE) instead of through an activation of its own.
#include "act_grad_epilogue.glsl"
#define KILN_EPILOGUE(v, o) kiln_act_grad(v, o, ACT, SLOPE)
#else
#define KILN_EPILOGUE(v, o) kiln_activate(v, ACT, SLOPE)
#endif

#if KILN_UNPOOL
#include "unpool_epilogue.glsl"
#endif

#if KILN_POOL
// Variant *.pool (include/pool_epilogue.glsl): each 2 x 2 tile is a window of the max pool that follows; only its
// maximum is written (and under .pool.keep the tile's four values too, at binding 4).
#include "pool_epilogue.glsl"
#endif

#if KILN_CONCAT_READS
// Variant *.concat (include/concat_reads.glsl): x concatenated with x2, upsampled as the patches are read.
#include "concat_reads.glsl"
#define XAT(b, c, iy, ix) float(kiln_concat_read(b, c, iy, ix, CIN, H, W))
#else
#define XAT(b, c, iy, ix) float(x[KILN_ACT_INDEX(b, c, iy, ix, CIN, H, W)])
#endif

// The chunk's transformed input (16 elements x 8 channels x 32 tiles) and weights (16 x 8 x 32 output channels); at
// the end, the sums of half the output channels (16 elements x 16 channels x 32 tiles). 32 KiB in all: lavapipe's limit.
shared vec4 sm[(U_BASE + 16 * U_PITCH) / 4];

void put(int i, float v) { sm[i >> 2][i & 3] = v; }
float get(int i) { return sm[i >> 2][i & 3]; }

// Chunk c0's input patch of this invocation's channel and tile (zero outside the image and past Cin), and its share of
// the chunk's weights: 16 elements x 8 channels x 8 vec4 of output channels, 4 vec4 per invocation.
void load(int c0, int b, int tid, int tc, int iy0, int ix0, int co0, out float d[4][4], out vec4 uv[4])
{
    const int ci = c0 + tc;
    for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++)
        {
            const int iy = iy0 + r, ix = ix0 + q;
            d[r][q] = ci < CIN && iy >= 0 && iy < H && ix >= 0 && ix < W ? XAT(b, ci, iy, ix) : 0.0;
        }
    for (int i = 0; i < 4; i++)
    {
        const int j = tid + 256 * i, ue = j >> 6, k = (j >> 3) & 7, q = j & 7;
        uv[i] = u[((ue * CIP + c0 + k) * COP + co0) / 4 + q];
    }
}

void main()
{
    const int TY = TILES / TX;
    const int groupsX = ((OW + 1) / 2 + TX - 1) / TX;
    const int tx0 = (int(gl_WorkGroupID.x) % groupsX) * TX, ty0 = (int(gl_WorkGroupID.x) / groupsX) * TY;
    const int co0 = int(gl_WorkGroupID.y) * BCO, b = int(gl_WorkGroupID.z);
    const int tid = int(gl_LocalInvocationID.x);
    // Input transform: invocation tid takes channel tid / 32 of the chunk and tile tid % 32.
    const int tc = tid >> 5, tt = tid & 31;
    const int iy0 = 2 * (ty0 + tt / TX) - PH, ix0 = 2 * (tx0 + tt % TX) - PW;
    // Products: element e = tid / 16, tiles 8 * (tid / 4 % 4) .. + 7, output channels 8 * (tid % 4) .. + 7.
    const int e = tid >> 4, tpb = (tid >> 2) & 3, tcb = tid & 3;

    vec4 acc[8][2];
    for (int i = 0; i < 8; i++)
    {
        acc[i][0] = vec4(0.0);
        acc[i][1] = vec4(0.0);
    }

    // Chunk c0's patch and weights go into registers one chunk ahead: their global reads overlap the previous chunk's
    // products.
    float d[4][4];
    vec4 uv[4];
    load(0, b, tid, tc, iy0, ix0, co0, d, uv);
    for (int c0 = 0; c0 < CIN; c0 += KC)
    {
        barrier(); // the previous chunk's products are done with shared memory

        // v = B^T d B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
        float t[4][4];
        for (int q = 0; q < 4; q++)
        {
            t[0][q] = d[0][q] - d[2][q];
            t[1][q] = d[1][q] + d[2][q];
            t[2][q] = d[2][q] - d[1][q];
            t[3][q] = d[1][q] - d[3][q];
        }
        const int vAt = tc * TILES + tt;
        for (int r = 0; r < 4; r++)
        {
            put((4 * r + 0) * V_PITCH + vAt, t[r][0] - t[r][2]);
            put((4 * r + 1) * V_PITCH + vAt, t[r][1] + t[r][2]);
            put((4 * r + 2) * V_PITCH + vAt, t[r][2] - t[r][1]);
            put((4 * r + 3) * V_PITCH + vAt, t[r][1] - t[r][3]);
        }
        for (int i = 0; i < 4; i++)
        {
            const int j = tid + 256 * i, ue = j >> 6, k = (j >> 3) & 7, q = j & 7;
            sm[(U_BASE + ue * U_PITCH + k * BCO) / 4 + q] = uv[i];
        }
        barrier();
        if (c0 + KC < CIN) load(c0 + KC, b, tid, tc, iy0, ix0, co0, d, uv);

        // Channels past Cin add zeros: their patches are zero and their weights too (CIP padding).
        for (int k = 0; k < KC; k++)
        {
            const int va = (e * V_PITCH + k * TILES + tpb * 8) / 4, ua = (U_BASE + e * U_PITCH + k * BCO + tcb * 8) / 4;
            const vec4 a0 = sm[va], a1 = sm[va + 1], b0 = sm[ua], b1 = sm[ua + 1];
            for (int i = 0; i < 4; i++)
            {
                acc[i][0] += a0[i] * b0;
                acc[i][1] += a0[i] * b1;
                acc[4 + i][0] += a1[i] * b0;
                acc[4 + i][1] += a1[i] * b1;
            }
        }
    }

    // Output transform, half the output channels at a time: Y = A^T m A, A^T = [1 1 1 0; 0 1 -1 -1].
    for (int part = 0; part < 2; part++)
    {
        barrier(); // the products (or the previous half's transforms) are done with shared memory
        if ((tcb >> 1) == part)
            for (int i = 0; i < 8; i++)
                for (int j = 0; j < 8; j++)
                    put(e * M_PITCH + ((tcb & 1) * 8 + j) * TILES + tpb * 8 + i, acc[i][j >> 2][j & 3]);
        barrier();
        // Invocation tid: tile tid % 32 of output channels tid / 32 and 8 + tid / 32 of the half (consecutive
        // invocations write neighbouring tiles).
        for (int s = 0; s < 2; s++)
        {
            const int pr = tid + 256 * s, cl = pr >> 5, tp = pr & 31;
            const int co = co0 + part * 16 + cl, oy = 2 * (ty0 + tp / TX), ox = 2 * (tx0 + tp % TX);
            if (co >= COUT || oy >= OH || ox >= OW) continue;
            float m[4][4];
            for (int k = 0; k < 16; k++) m[k >> 2][k & 3] = get(k * M_PITCH + cl * TILES + tp);
            float t0[4], t1[4];
            for (int q = 0; q < 4; q++)
            {
                t0[q] = m[0][q] + m[1][q] + m[2][q];
                t1[q] = m[1][q] - m[2][q] - m[3][q];
            }
            const float bv = HAS_BIAS != 0 ? bias[co] : 0.0;
#if KILN_POOL
            // The tile is the pool's window (OH and OW even: always whole).
            const float v00 = kiln_activate(t0[0] + t0[1] + t0[2] + bv, ACT, SLOPE), v01 = kiln_activate(t0[1] - t0[2] - t0[3] + bv, ACT, SLOPE);
            const float v10 = kiln_activate(t1[0] + t1[1] + t1[2] + bv, ACT, SLOPE), v11 = kiln_activate(t1[1] - t1[2] - t1[3] + bv, ACT, SLOPE);
            y[KILN_ACT_INDEX(b, co, oy / 2, ox / 2, COUT, OH / 2, OW / 2)] =
                act_t(kiln_pool_max(kiln_pool_max(kiln_pool_max(kiln_pool_max(-1.0 / 0.0, v00), v01), v10), v11));
#if KILN_POOL_KEEP
            const int at = KILN_ACT_INDEX(b, co, oy, ox, COUT, OH, OW);
            const int right = KILN_ACT_INDEX(0, 0, 0, 1, COUT, OH, OW), down = KILN_ACT_INDEX(0, 0, 1, 0, COUT, OH, OW);
            kept[at] = act_t(v00);
            kept[at + right] = act_t(v01);
            kept[at + down] = act_t(v10);
            kept[at + down + right] = act_t(v11);
#endif
#elif KILN_UNPOOL
            kiln_unpool_store(t0[0] + t0[1] + t0[2] + bv, b, co, oy, ox, COUT, OH, OW, ACT, SLOPE);
            if (ox + 1 < OW) kiln_unpool_store(t0[1] - t0[2] - t0[3] + bv, b, co, oy, ox + 1, COUT, OH, OW, ACT, SLOPE);
            if (oy + 1 < OH)
            {
                kiln_unpool_store(t1[0] + t1[1] + t1[2] + bv, b, co, oy + 1, ox, COUT, OH, OW, ACT, SLOPE);
                if (ox + 1 < OW) kiln_unpool_store(t1[1] - t1[2] - t1[3] + bv, b, co, oy + 1, ox + 1, COUT, OH, OW, ACT, SLOPE);
            }
#else
            // The tile's pixels: right of it one column on, below it one row on (in either layout).
            const int at = KILN_ACT_INDEX(b, co, oy, ox, COUT, OH, OW);
            const int right = KILN_ACT_INDEX(0, 0, 0, 1, COUT, OH, OW), down = KILN_ACT_INDEX(0, 0, 1, 0, COUT, OH, OW);
            y[at] = act_t(KILN_EPILOGUE(t0[0] + t0[1] + t0[2] + bv, at));
            if (ox + 1 < OW) y[at + right] = act_t(KILN_EPILOGUE(t0[1] - t0[2] - t0[3] + bv, at + right));
            if (oy + 1 < OH)
            {
                y[at + down] = act_t(KILN_EPILOGUE(t1[0] + t1[1] + t1[2] + bv, at + down));
                if (ox + 1 < OW) y[at + down + right] = act_t(KILN_EPILOGUE(t1[1] - t1[2] - t1[3] + bv, at + down + right));
            }
#endif
        }
    }
}
