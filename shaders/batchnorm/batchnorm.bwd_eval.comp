#version 450
// BatchNorm2d gradient of the evaluation form y = (x - running_mean) * invStd * weight + bias, invStd =
// 1 / sqrt(running_var + EPS), the running statistics held constant. One workgroup per channel c (M = N*H*W values):
//   dbias = sum(dy), dweight = sum(dy * (x - running_mean) * invStd), dx = dy * weight * invStd.
// Bindings: 0 x (act_t)  1 weight [C]  2 running_mean [C]  3 running_var [C] (float)  4 dy  5 dx (act_t)  6 dweight [C]
// 7 dbias [C] (float)
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
layout(std430, binding = 2) readonly buffer RM { float runningMean[]; };
layout(std430, binding = 3) readonly buffer RV { float runningVar[]; };
layout(std430, binding = 4) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 5) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 6) writeonly buffer DW { float dweight[]; };
layout(std430, binding = 7) writeonly buffer DB { float dbias[]; };

layout(push_constant) uniform P { int n, c, hw; } p;

int at(int j, int ch) { return ((j / p.hw) * p.c + ch) * p.hw + j % p.hw; }

void main()
{
    const int ch = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
    const bool valid = ch < p.c;
    const int M = p.n * p.hw;
    const int t = int(gl_LocalInvocationID.x);
    const float mean = valid ? runningMean[ch] : 0.0;
    const float invStd = valid ? inversesqrt(runningVar[ch] + EPS) : 0.0;
    const float scale = valid ? weight[ch] * invStd : 0.0;
    float sdy = 0.0, sdyx = 0.0;
    if (valid)
        for (int j = t; j < M; j += REDUCE_SIZE)
        {
            const int k = at(j, ch);
            const float g = float(dy[k]);
            sdy += g;
            sdyx += g * (float(x[k]) - mean);
            dx[k] = act_t(g * scale);
        }
    const float sumDy = kiln_workgroup_sum(sdy);
    barrier();
    const float sumDyXc = kiln_workgroup_sum(sdyx);
    if (t == 0 && valid) { dbias[ch] = sumDy; dweight[ch] = sumDyXc * invStd; }
}
