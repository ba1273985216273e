#version 450
// BatchNorm2d gradient of the training form, one workgroup per channel c (M = N*H*W values): recomputes the
// batch mean and biased variance from x, then with xhat = (x - mean) * invStd:
//   dbias = sum(dy), dweight = sum(dy * xhat), dx = weight * invStd * (dy - dbias / M - xhat * dweight / M).
// Bindings: 0 x (act_t)  1 weight [C] (float)  2 dy (act_t)  3 dx (act_t)  4 dweight [C]  5 dbias [C] (float)
// Specialization: 0 EPS (float)
// Push constants: n, c, hw
// Dispatch: one workgroup per channel, x * y >= C (x up to 65535), local x = 64
#include "kiln.glsl"
#define REDUCE_SIZE 64
#include "reduce.glsl"
#include "storage.glsl"

layout(constant_id = 0) const float EPS = 1e-5;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer W { float weight[]; };
layout(std430, binding = 2) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 3) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 4) writeonly buffer DW { float dweight[]; };
layout(std430, binding = 5) writeonly buffer DB { float dbias[]; };

layout(push_constant) uniform P { int n, c, hw; } p;

int at(int j, int ch) { return ((j / p.hw) * p.c + ch) * p.hw + j % p.hw; }

void main()
{
    const int ch = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
    const bool valid = ch < p.c;
    const int M = p.n * p.hw;
    const int t = int(gl_LocalInvocationID.x);
    float s = 0.0;
    if (valid) for (int j = t; j < M; j += REDUCE_SIZE) s += float(x[at(j, ch)]);
    const float mean = kiln_workgroup_sum(s) / float(M);
    barrier();
    float q = 0.0;
    if (valid) for (int j = t; j < M; j += REDUCE_SIZE) { float d = float(x[at(j, ch)]) - mean; q += d * d; }
    const float invStd = inversesqrt(kiln_workgroup_sum(q) / float(M) + EPS);
    barrier();
    float sdy = 0.0, sdyx = 0.0;
    if (valid)
        for (int j = t; j < M; j += REDUCE_SIZE) { int k = at(j, ch); sdy += float(dy[k]); sdyx += float(dy[k]) * (float(x[k]) - mean); }
    const float sumDy = kiln_workgroup_sum(sdy);
    barrier();
    const float sumDyXhat = kiln_workgroup_sum(sdyx) * invStd;
    if (!valid) return;
    if (t == 0) { dbias[ch] = sumDy; dweight[ch] = sumDyXhat; }
    const float scale = weight[ch] * invStd, invM = 1.0 / float(M);
    for (int j = t; j < M; j += REDUCE_SIZE)
    {
        int k = at(j, ch);
        const float xhat = (float(x[k]) - mean) * invStd;
        dx[k] = act_t(scale * (float(dy[k]) - sumDy * invM - xhat * sumDyXhat * invM));
    }
}
