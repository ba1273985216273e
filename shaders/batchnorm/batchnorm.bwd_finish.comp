#version 450
// BatchNorm2d's gradient, second pass: one invocation per channel adds batchnorm.bwd_stats' chunks in order:
// dbias = sum(dy), dweight = sum(dy xhat) = sum(dy (x - mean)) invStd.
// STATS 1: invStd = stats[C + c] (batchnorm.finish); STATS 0 (the evaluation form): 1 / sqrt(running_var[c] + EPS).
// Bindings: 0 partials [C, chunks, 2]  1 stats [2C] or running_var [C]  2 dweight [C]  3 dbias [C] (float)
// Specialization: 0 STATS (0/1), 1 EPS (float)
// Push constants: n, c, hw, chunks
// Dispatch: Emitter.ElementwiseGroups(C), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const int STATS = 1;
layout(constant_id = 1) const float EPS = 1e-5;

layout(std430, binding = 0) readonly buffer Partials { float partials[]; };
layout(std430, binding = 1) readonly buffer Var { float varSource[]; };
layout(std430, binding = 2) writeonly buffer DW { float dweight[]; };
layout(std430, binding = 3) writeonly buffer DB { float dbias[]; };

layout(push_constant) uniform P { int n, c, hw, chunks; } p;

void main()
{
    const int ch = int(kiln_element_index());
    if (ch >= p.c) return;
    float sumDy = 0.0, sumDyX = 0.0;
    for (int k = 0; k < p.chunks; k++)
    {
        sumDy += partials[(ch * p.chunks + k) * 2];
        sumDyX += partials[(ch * p.chunks + k) * 2 + 1];
    }
    const float invStd = STATS != 0 ? varSource[p.c + ch] : inversesqrt(varSource[ch] + EPS);
    dbias[ch] = sumDy;
    dweight[ch] = sumDyX * invStd;
}
