#version 450
// Convolution bias gradient (Conv2d and ConvTranspose2d): db[c] = sum over b, y, x of dY[b, c, y, x], one
// workgroup per channel reducing with kiln_workgroup_sum (no atomics).
// Bindings: 0 dY [N,C,H,W]  1 db [C]
// Specialization: 0 C, 1 HW (H*W) (0 = from push constants)
// Push constants: n, c, hw
// Dispatch: one workgroup per channel, x * y >= C (x up to 65535), local x = 64
#include "kiln.glsl"
#define REDUCE_SIZE 64
#include "reduce.glsl"

layout(constant_id = 0) const int S_C = 0;
layout(constant_id = 1) const int S_HW = 0;

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) writeonly buffer DB { float db[]; };

layout(push_constant) uniform P { int n, c, hw; } p;

void main()
{
    const int C = BAKED(S_C, p.c), HW = BAKED(S_HW, p.hw);
    const int ch = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
    float s = 0.0;
    if (ch < C)
        for (int b = 0; b < p.n; b++)
        {
            const int base = (b * C + ch) * HW;
            for (int i = int(gl_LocalInvocationID.x); i < HW; i += REDUCE_SIZE) s += dy[base + i];
        }
    const float total = kiln_workgroup_sum(s);
    if (gl_LocalInvocationID.x == 0 && ch < C) db[ch] = total;
}
