#version 450
// BatchNorm2d's batch statistics, first pass: the M = N*H*W values of channel c, [N, C, H, W], cut into chunks of
// CHUNK; workgroup (k, c) writes chunk k's mean and sum of squared deviations from that mean (read twice: the sum,
// then the squares), which batchnorm.finish merges in chunk order (Chan et al.'s pairwise update). Many workgroups
// per channel keep a GPU busy on large images with few channels; the two passes keep the variance exact where the
// values sit far from 0.
// Bindings: 0 x (act_t)  1 partials [C, chunks, 2] (float: mean, M2)
// Variant *.nhwc (KILN_NHWC, a channels-last training plan): x is [N, H, W, C], element j of a channel C values after
// element j - 1; the same sums in the same order.
// Specialization: 0 CHUNK (a multiple of 256)
// Push constants: n, c, hw, chunks
// Dispatch: (chunks, C, 1), local x = 256
#include "kiln.glsl"
#define REDUCE_SIZE 256
#include "reduce.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int CHUNK = 4096;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Partials { float partials[]; };

layout(push_constant) uniform P { int n, c, hw, chunks; } p;

// The index of element j (image j / hw, pixel j % hw) of channel ch.
int at(int j, int ch)
{
#if KILN_NHWC
    return j * p.c + ch;
#else
    return ((j / p.hw) * p.c + ch) * p.hw + j % p.hw;
#endif
}

void main()
{
    const int k = int(gl_WorkGroupID.x), ch = int(gl_WorkGroupID.y), t = int(gl_LocalInvocationID.x);
    const int M = p.n * p.hw, j0 = k * CHUNK, j1 = min(M, j0 + CHUNK);
    // Element j of the channel: image j / hw, pixel j % hw; a run of consecutive j is a run of one plane (NCHW).
    float s = 0.0;
    for (int j = j0 + t; j < j1; j += REDUCE_SIZE) s += float(x[at(j, ch)]);
    const float mean = kiln_workgroup_sum(s) / float(j1 - j0);
    barrier();
    float q = 0.0;
    for (int j = j0 + t; j < j1; j += REDUCE_SIZE)
    {
        const float d = float(x[at(j, ch)]) - mean;
        q += d * d;
    }
    const float m2 = kiln_workgroup_sum(q);
    if (t == 0)
    {
        partials[(ch * p.chunks + k) * 2] = mean;
        partials[(ch * p.chunks + k) * 2 + 1] = m2;
    }
}
