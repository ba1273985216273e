#version 450
// Pad backward as a gather (no atomics): one invocation per INPUT element sums the output gradients copied from
// it. Zero mode: the one output pixel (iy + TOP, ix + LEFT). Replicate: along each axis the output range that
// clamps to this index: [0, i + pad_before] for the first index, [i + pad_before, size_out - 1] for the last,
// both for a size-1 axis, just i + pad_before in between.
// Bindings: 0 dy [N,C,OH,OW] (act_t)  1 dx [N,C,H,W] (act_t)
// Specialization: 0 MODE (0 zero, 1 replicate), 1 LEFT, 2 RIGHT, 3 TOP, 4 BOTTOM, 5 H, 6 W (H, W: 0 = from push constants)
// Push constants: count (N*C*H*W), h, w
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
layout(std430, binding = 0) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 1) writeonly buffer DX { act_t dx[]; };

void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    const int H = BAKED(S_H, p.h), W = BAKED(S_W, p.w), OH = TOP + H + BOTTOM, OW = LEFT + W + RIGHT;
    const int ix = int(i % uint(W));
    const int iy = int((i / uint(W)) % uint(H));
    const int base = int(i / uint(W * H)) * OH * OW;
    int y0 = iy + TOP, y1 = y0, x0 = ix + LEFT, x1 = x0;
    if (MODE == 1)
    {
        if (iy == 0) y0 = 0;
        if (iy == H - 1) y1 = OH - 1;
        if (ix == 0) x0 = 0;
        if (ix == W - 1) x1 = OW - 1;
    }
    float g = 0.0;
    for (int oy = y0; oy <= y1; oy++)
    {
        const int row = base + oy * OW;
        for (int ox = x0; ox <= x1; ox++) g += float(dy[row + ox]);
    }
    dx[i] = act_t(g);
}
