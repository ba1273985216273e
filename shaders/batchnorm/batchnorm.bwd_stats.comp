#version 450
// BatchNorm2d's gradient, first pass: over chunk k of CHUNK values of channel c ([N, C, H, W], M = N*H*W), workgroup
// (k, c) writes sum(dy) and sum(dy (x - mean)), which batchnorm.bwd_finish adds in chunk order. mean is the batch
// mean batchnorm.finish wrote (stats[c]) or the running mean (the evaluation form): both at index c of binding 2.
// Bindings: 0 x (act_t)  1 dy (act_t)  2 stats [2C] or running_mean [C] (float)  3 partials [C, chunks, 2] (float)
// Specialization: 0 CHUNK (a multiple of 256)
// Push constants: n, c, hw, chunks
// Dispatch: (chunks, C, 1), local x = 256
#include "kiln.glsl"
#define REDUCE_SIZE 256
#include "reduce.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int CHUNK = 4096;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 2) readonly buffer Mean { float meanSource[]; };
layout(std430, binding = 3) writeonly buffer Partials { float partials[]; };

layout(push_constant) uniform P { int n, c, hw, chunks; } p;

// The index of element j (image j / hw, pixel j % hw) of channel ch; x and dy [N, H, W, C] in the .nhwc variant
// (KILN_NHWC, a channels-last training plan).
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
    const float mean = meanSource[ch];
    float sdy = 0.0, sdyx = 0.0;
    for (int j = j0 + t; j < j1; j += REDUCE_SIZE)
    {
        const int i = at(j, ch);
        const float g = float(dy[i]);
        sdy += g;
        sdyx += g * (float(x[i]) - mean);
    }
    const float sumDy = kiln_workgroup_sum(sdy);
    barrier();
    const float sumDyX = kiln_workgroup_sum(sdyx);
    if (t == 0)
    {
        partials[(ch * p.chunks + k) * 2] = sumDy;
        partials[(ch * p.chunks + k) * 2 + 1] = sumDyX;
    }
}
