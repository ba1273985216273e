#version 450
// Pad of [N,C,H,W] to [N,C,TOP+H+BOTTOM,LEFT+W+RIGHT] (F.pad(x, (LEFT, RIGHT, TOP, BOTTOM))): MODE 0 writes zeros
// outside x, MODE 1 (replicate) copies the nearest edge pixel (source row/column clamped into x).
// One invocation per output element.
// Bindings: 0 x [N,C,H,W] (act_t)  1 y [N,C,OH,OW] (act_t)
// Specialization: 0 MODE (0 zero, 1 replicate), 1 LEFT, 2 RIGHT, 3 TOP, 4 BOTTOM, 5 H, 6 W (H, W: 0 = from push constants)
// Push constants: count (N*C*OH*OW), h, w
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int MODE = 0;
layout(constant_id = 1) const int LEFT = 0;
layout(constant_id = 2) const int RIGHT = 0;
layout(constant_id = 3) const int TOP = 0;
layout(constant_id = 4) const int BOTTOM = 0;
layout(constant_id = 5) const int S_H = 0;
layout(constant_id = 6) const int S_W = 0;

layout(push_constant) uniform P { uint count; int h, w; } p;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };

void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    const int H = BAKED(S_H, p.h), W = BAKED(S_W, p.w), OH = TOP + H + BOTTOM, OW = LEFT + W + RIGHT;
    const int ox = int(i % uint(OW));
    const int oy = int((i / uint(OW)) % uint(OH));
    const int base = int(i / uint(OW * OH)) * H * W;
    int ix = ox - LEFT, iy = oy - TOP;
    if (MODE == 0)
    {
        y[i] = (ix >= 0 && ix < W && iy >= 0 && iy < H) ? x[base + iy * W + ix] : act_t(0.0);
        return;
    }
    ix = clamp(ix, 0, W - 1);
    iy = clamp(iy, 0, H - 1);
    y[i] = x[base + iy * W + ix];
}
