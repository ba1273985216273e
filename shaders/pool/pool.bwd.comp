#version 450
// 2-D max or average pooling backward as a gather: one invocation per INPUT element, summing over the
// output windows that contain it (one window when stride == kernel), so no atomics. Max recomputes each
// window's argmax from x with pool.fwd's exact scan (first maximum, NaN wins) and takes dy only where this
// element is it. Elements no window covers (the floor rule's leftover rows/columns) get 0.
// VEC (Pool2dKernels.Vector decides; windows that tile x exactly, KH == SH and KW == SW, with OW a multiple of 4):
// invocation i takes the 4 windows of outputs 4i .. 4i + 3, one row of them, through 4-wide views of the bindings:
// one load of dy, KW loads of x and KW stores of dx per window row (their 4 KW elements, element e in window e / KW).
// With ACT (max only; engine/Layers/Conv/ActivationGradient.cs) x is the output of an activation fused into the layer
// before, and dx leaves as the gradient before it: (dx + addend) * ACT'(x), the derivative taken from x as
// elementwise/unary.bwd.comp takes it, the addend (SUM) the gradient x's other reader gave, so neither that pass nor
// the sum runs on its own.
// Variant *.nhwc (KILN_NHWC, a channels-last training plan): every tensor [N,H,W,C]; element i is channel i % C of
// pixel i / C, a window's elements C apart; the same scan and sums (no VEC form).
// Bindings: 0 x [N,C,H,W] (act_t; read for max only)  1 dy [N,C,OH,OW] (act_t)  2 dx [N,C,H,W] (act_t)
//           3 addend [N,C,H,W] (act_t; read with SUM only)
// Specialization: 0 MODE (0 max, 1 average), 1 KH, 2 KW, 3 SH, 4 SW, 5 H, 6 W, 7 OH, 8 OW (0 = from push constants),
//                 9 VEC (0 or 1), 10 ACT (Activation code; 0: none), 11 SLOPE (float), 12 SUM (0/1),
//                 13 C (the channels: the .nhwc variant only)
// Push constants: count (N*C*H*W), h, w, oh, ow
// Dispatch: Emitter.ElementwiseGroups(count), or with VEC Emitter.VectorGroups(N*C*OH*OW); local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int MODE = 0;
layout(constant_id = 1) const int KH = 2;
layout(constant_id = 2) const int KW = 2;
layout(constant_id = 3) const int SH = 2;
layout(constant_id = 4) const int SW = 2;
layout(constant_id = 5) const int S_H = 0;
layout(constant_id = 6) const int S_W = 0;
layout(constant_id = 7) const int S_OH = 0;
layout(constant_id = 8) const int S_OW = 0;
layout(constant_id = 9) const int VEC = 0;
layout(constant_id = 10) const int ACT = 0;
layout(constant_id = 11) const float SLOPE = 0.01;
layout(constant_id = 12) const int SUM = 0;
layout(constant_id = 13) const int C = 1;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 1) readonly buffer DY4 { act4_t dy4[]; };
layout(std430, binding = 2) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 2) writeonly buffer DX4 { act4_t dx4[]; };
layout(std430, binding = 3) readonly buffer Addend { act_t addend[]; };
layout(std430, binding = 3) readonly buffer Addend4 { act4_t addend4[]; };

// dx element e (of x's, whose value is v) from the pooling's gradient g: through the activation (ACT, SUM), or as it is.
float through(float g, int e, float v)
{
    if (ACT == ACT_NONE) return g;
    return (SUM != 0 ? g + float(addend[e]) : g) * kiln_activation_derivative(v, ACT, SLOPE);
}

layout(push_constant) uniform P { uint count; int h, w, oh, ow; } p;

// VEC: the windows of outputs 4i .. 4i + 3 (columns ox .. ox + 3 of one output row). Max finds each window's
// argmax as pool.fwd scans (row by row, first maximum, NaN winning), then writes dy there and 0 elsewhere.
void main_vector(uint i, int H, int W, int OH, int OW)
{
    const uint o = 4u * i;
    const int ox = int(o % uint(OW)), oy = int(o / uint(OW) % uint(OH)), plane = int(o / uint(OW * OH));
    const int row0 = (plane * H + oy * SH) * W + ox * SW;
    const vec4 d = vec4(dy4[i]);
    if (MODE != 0)
    {
        const vec4 g = d / float(KH * KW);
        for (int ky = 0; ky < KH; ky++)
            for (int q = 0; q < KW; q++)
            {
                vec4 v;
                for (int l = 0; l < 4; l++) v[l] = g[(4 * q + l) / KW];
                dx4[(row0 + ky * W) / 4 + q] = act4_t(v);
            }
        return;
    }
    vec4 best = vec4(-1.0 / 0.0);
    // Each window's argmax, counted from the window's first element (ky 4 KW + e - window KW): 0 until one beats -inf.
    ivec4 arg = ivec4(0);
    for (int ky = 0; ky < KH; ky++)
        for (int q = 0; q < KW; q++)
        {
            const vec4 v = vec4(x4[(row0 + ky * W) / 4 + q]);
            for (int l = 0; l < 4; l++)
            {
                const int win = (4 * q + l) / KW;
                if (v[l] > best[win] || isnan(v[l])) { best[win] = v[l]; arg[win] = ky * 4 * KW + 4 * q + l - win * KW; }
            }
        }
    for (int ky = 0; ky < KH; ky++)
        for (int q = 0; q < KW; q++)
        {
            vec4 g;
            const int at = (row0 + ky * W) / 4 + q;
            const vec4 v = ACT != ACT_NONE ? vec4(x4[at]) : vec4(0.0);
            for (int l = 0; l < 4; l++)
            {
                const int win = (4 * q + l) / KW;
                g[l] = through(arg[win] == ky * 4 * KW + 4 * q + l - win * KW ? d[win] : 0.0, 4 * at + l, v[l]);
            }
            dx4[at] = act4_t(g);
        }
}

void main()
{
    const uint i = kiln_element_index();
    const int H = BAKED(S_H, p.h), W = BAKED(S_W, p.w), OH = BAKED(S_OH, p.oh), OW = BAKED(S_OW, p.ow);
    if (VEC != 0)
    {
        if (4u * i < p.count / uint(SH * SW)) main_vector(i, H, W, OH, OW);
        return;
    }
    if (i >= p.count) return;
#if KILN_NHWC
    const int c = int(i % uint(C)), pixel = int(i / uint(C));
    const int ix = pixel % W, iy = pixel / W % H, image = pixel / (W * H);
#define DY_AT(oy, ox) (((image * OH + (oy)) * OW + (ox)) * C + c)
#define X_AT(yy, xx) (((image * H + (yy)) * W + (xx)) * C + c)
#else
    const int ix = int(i % uint(W));
    const int iy = int((i / uint(W)) % uint(H));
    const int plane = int(i / uint(W * H));
#define DY_AT(oy, ox) ((plane * OH + (oy)) * OW + (ox))
#define X_AT(yy, xx) ((plane * H + (yy)) * W + (xx))
#endif
    // Windows oy with oy*SH <= iy < oy*SH + KH, inside the output.
    const int oy0 = max(0, (iy - KH + SH) / SH), oy1 = min(OH - 1, iy / SH);
    const int ox0 = max(0, (ix - KW + SW) / SW), ox1 = min(OW - 1, ix / SW);
    float g = 0.0;
    for (int oy = oy0; oy <= oy1; oy++)
        for (int ox = ox0; ox <= ox1; ox++)
        {
            const float d = float(dy[DY_AT(oy, ox)]);
            if (MODE == 0)
            {
                float best = -1.0 / 0.0;
                int arg = X_AT(oy * SH, ox * SW);
                for (int ky = 0; ky < KH; ky++)
                    for (int kx = 0; kx < KW; kx++)
                    {
                        const int at = X_AT(oy * SH + ky, ox * SW + kx);
                        const float v = float(x[at]);
                        if (v > best || isnan(v)) { best = v; arg = at; }
                    }
                if (arg == int(i)) g += d;
            }
            else g += d;
        }
    dx[i] = act_t(MODE == 0 ? through(g, int(i), ACT != ACT_NONE ? float(x[i]) : 0.0) : g / float(KH * KW));
}
