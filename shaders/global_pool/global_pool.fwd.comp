#version 450
// Global average pooling: y[plane] = mean over the H*W pixels of x[plane], plane = n * C + c. One workgroup
// per plane, its invocations striding over the pixels and reducing with kiln_workgroup_sum (no atomics).
// The .split variant (KILN_SPLIT: planes of many pixels, few planes) cuts each plane into chunks of CHUNK pixels:
// workgroup (k, plane) writes chunk k's sum / HW to partial[k * planes + plane] (f32), and reduce/partials adds the
// chunks in order (GlobalAvgPool2d), so a GPU gets many workgroups where there are few planes.
// Bindings: 0 x [N, C, H, W] (act_t)  1 y [N, C, 1, 1] (act_t), or the partials [chunks, planes] (float) in .split
// Specialization: 0 HW (pixels per plane; 0 = from push constants), 1 CHUNK (.split)
// Push constants: planes, hw
// Dispatch: one workgroup per plane, x * y >= planes (x up to 65535), or (chunks, planes, 1) in .split; local x = 64
#include "kiln.glsl"
#define REDUCE_SIZE 64
#include "reduce.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int S_HW = 0;
layout(constant_id = 1) const int CHUNK = 4096;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
#if KILN_SPLIT
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
#else
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
#endif

layout(push_constant) uniform P { int planes, hw; } p;

void main()
{
    const int HW = BAKED(S_HW, p.hw);
#if KILN_SPLIT
    const int plane = int(gl_WorkGroupID.y), k = int(gl_WorkGroupID.x);
    const int i0 = k * CHUNK, i1 = min(HW, i0 + CHUNK);
#else
    const int plane = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
    const int i0 = 0, i1 = HW;
#endif
    float s = 0.0;
    if (plane < p.planes)
        for (int i = i0 + int(gl_LocalInvocationID.x); i < i1; i += REDUCE_SIZE) s += float(x[plane * HW + i]);
    const float total = kiln_workgroup_sum(s);
    if (gl_LocalInvocationID.x != 0 || plane >= p.planes) return;
#if KILN_SPLIT
    y[k * p.planes + plane] = total / float(HW);
#else
    y[plane] = act_t(total / float(HW));
#endif
}
