#version 450
// Convolution bias gradient as a parallel reduction (the GPU kernel; conv2d.bwd_bias.comp is lavapipe's):
// db[c] = sum over b, y, x of dY[b, c, y, x]. Channel c's N*HW values, in (image, pixel) order, are cut into chunks
// of CHUNK; workgroup (s, c) has its 256 invocations add every 256th value of chunk s (neighbouring invocations read
// neighbouring pixels: coalesced), then a shared-memory tree adds the 256 sums and invocation 0 writes out[s * C + c].
// With more than one chunk shaders/reduce/partials.comp adds the chunks in order; with CHUNK = 0 there is one chunk
// and out is db itself. Fixed order everywhere, no atomics: results are deterministic.
// Bindings: 0 dY [N,C,H,W] (act_t: f16 in the .f16 variant, storage.glsl)  1 out [splits, C] (float)
// Variant *.nhwc (KILN_NHWC, a channels-last training plan): dY is [N,H,W,C], value i of channel c at i C + c (C
// apart: coalesced for the few channels whose weight gradient has no .bias form); the same sums in the same order.
// Specialization: 0 C, 1 HW (H*W) (0 = from push constants), 2 CHUNK (values per chunk, 0 = all N*HW)
// Push constants: n, c, hw
// Dispatch: (splits, C, 1) workgroups, local x = 256 (REDUCE_SIZE)
#include "kiln.glsl"
#include "storage.glsl"
#define REDUCE_SIZE 256
#include "reduce.glsl"

layout(constant_id = 0) const int S_C = 0;
layout(constant_id = 1) const int S_HW = 0;
layout(constant_id = 2) const int CHUNK = 0;

layout(std430, binding = 0) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 1) writeonly buffer Out { float db[]; };

layout(push_constant) uniform P { int n, c, hw; } p;

void main()
{
    const int C = BAKED(S_C, p.c), HW = BAKED(S_HW, p.hw);
    const int total = p.n * HW;
    const int chunk = CHUNK > 0 ? CHUNK : total;
    const int s = int(gl_WorkGroupID.x), ch = int(gl_WorkGroupID.y);
    const int begin = s * chunk, end = min(total, begin + chunk);
    float sum = 0.0;
    for (int i = begin + int(gl_LocalInvocationID.x); i < end; i += REDUCE_SIZE)
    {
#if KILN_NHWC
        sum += float(dy[i * C + ch]);
#else
        const int b = i / HW;
        sum += float(dy[(b * C + ch) * HW + i - b * HW]);
#endif
    }
    sum = kiln_workgroup_sum(sum);
    if (gl_LocalInvocationID.x == 0) db[s * C + ch] = sum;
}
