#version 450
// Global average pooling: y[plane] = mean over the H*W pixels of x[plane], plane = n * C + c. One workgroup
// per plane, its invocations striding over the pixels and reducing with kiln_workgroup_sum (no atomics).
// Bindings: 0 x [N, C, H, W] (act_t)  1 y [N, C, 1, 1] (act_t)
// Specialization: 0 HW (pixels per plane; 0 = from push constants)
// Push constants: planes, hw
// Dispatch: one workgroup per plane, x * y >= planes (x up to 65535), local x = 64
#include "kiln.glsl"
#define REDUCE_SIZE 64
#include "reduce.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int S_HW = 0;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };

layout(push_constant) uniform P { int planes, hw; } p;

void main()
{
    const int HW = BAKED(S_HW, p.hw);
    const int plane = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
    float s = 0.0;
    if (plane < p.planes)
        for (int i = int(gl_LocalInvocationID.x); i < HW; i += REDUCE_SIZE) s += float(x[plane * HW + i]);
    const float total = kiln_workgroup_sum(s);
    if (gl_LocalInvocationID.x == 0 && plane < p.planes) y[plane] = act_t(total / float(HW));
}
