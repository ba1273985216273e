#version 450
// BatchNorm2d forward over [N, C, H, W], one workgroup per channel c (M = N*H*W values), reducing with
// kiln_workgroup_sum (no atomics). TRAINING: mean and biased variance of the batch normalise, and invocation 0
// updates the running statistics with MOMENTUM (the running variance takes the unbiased variance, as PyTorch).
// Otherwise the running statistics normalise. y = (x - mean) / sqrt(var + EPS) * weight[c] + bias[c].
// Bindings: 0 x (act_t)  1 weight [C]  2 bias [C]  3 running_mean [C]  4 running_var [C] (float)  5 y (act_t); x and y
// [N, H, W, C] in the .nhwc variant (KILN_NHWC: inference plans, CompileOptions.ActivationLayout)
// (the batch statistics are summed in f32)
// Specialization: 0 TRAINING (0/1), 1 EPS (float), 2 MOMENTUM (float)
// Push constants: n, c, hw
// Dispatch: one workgroup per channel, x * y >= C (x up to 65535), local x = 64
#include "kiln.glsl"
#define REDUCE_SIZE 64
#include "reduce.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int TRAINING = 0;
layout(constant_id = 1) const float EPS = 1e-5;
layout(constant_id = 2) const float MOMENTUM = 0.1;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer W { float weight[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) buffer RM { float runningMean[]; };
layout(std430, binding = 4) buffer RV { float runningVar[]; };
layout(std430, binding = 5) writeonly buffer Y { act_t y[]; };

layout(push_constant) uniform P { int n, c, hw; } p;

// Element j (image-major, then pixel) of channel ch.
#if KILN_NHWC
int at(int j, int ch) { return j * p.c + ch; }
#else
int at(int j, int ch) { return ((j / p.hw) * p.c + ch) * p.hw + j % p.hw; }
#endif

void main()
{
    const int ch = int(gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x);
    const bool valid = ch < p.c;
    const int M = p.n * p.hw;
    const int t = int(gl_LocalInvocationID.x);
    float mean, invStd;
    if (TRAINING != 0)
    {
        float s = 0.0;
        if (valid) for (int j = t; j < M; j += REDUCE_SIZE) s += float(x[at(j, ch)]);
        mean = kiln_workgroup_sum(s) / float(M);
        barrier();
        float q = 0.0;
        if (valid) for (int j = t; j < M; j += REDUCE_SIZE) { float d = float(x[at(j, ch)]) - mean; q += d * d; }
        const float var = kiln_workgroup_sum(q) / float(M);
        invStd = inversesqrt(var + EPS);
        if (t == 0 && valid)
        {
            runningMean[ch] = (1.0 - MOMENTUM) * runningMean[ch] + MOMENTUM * mean;
            runningVar[ch] = (1.0 - MOMENTUM) * runningVar[ch] + MOMENTUM * var * (float(M) / float(M - 1));
        }
    }
    else
    {
        if (!valid) return;
        mean = runningMean[ch];
        invStd = inversesqrt(runningVar[ch] + EPS);
    }
    if (!valid) return;
    const float scale = weight[ch] * invStd, shift = bias[ch] - mean * scale;
    for (int j = t; j < M; j += REDUCE_SIZE) { int k = at(j, ch); y[k] = act_t(float(x[k]) * scale + shift); }
}
