#version 450
// BatchNorm2d's batch statistics, second pass: one invocation per channel merges batchnorm.stats' chunks in order
// (Chan et al.: n = na + nb, delta = mean_b - mean_a, mean += delta nb / n, M2 += M2_b + delta^2 na nb / n), writes
// mean and 1 / sqrt(var + EPS) for batchnorm.apply and the gradient, and moves the running statistics by MOMENTUM
// (the running variance takes the unbiased variance, as PyTorch).
// Bindings: 0 partials [C, chunks, 2] (mean, M2)  1 running_mean [C]  2 running_var [C]  3 stats [2C] (mean, invStd)
// Specialization: 0 CHUNK (batchnorm.stats'), 1 EPS (float), 2 MOMENTUM (float)
// Push constants: n, c, hw, chunks
// Dispatch: Emitter.ElementwiseGroups(C), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const int CHUNK = 4096;
layout(constant_id = 1) const float EPS = 1e-5;
layout(constant_id = 2) const float MOMENTUM = 0.1;

layout(std430, binding = 0) readonly buffer Partials { float partials[]; };
layout(std430, binding = 1) buffer RM { float runningMean[]; };
layout(std430, binding = 2) buffer RV { float runningVar[]; };
layout(std430, binding = 3) writeonly buffer Stats { float stats[]; };

layout(push_constant) uniform P { int n, c, hw, chunks; } p;

void main()
{
    const int ch = int(kiln_element_index());
    if (ch >= p.c) return;
    const int M = p.n * p.hw;
    float n = 0.0, mean = 0.0, m2 = 0.0;
    for (int k = 0; k < p.chunks; k++)
    {
        const float nb = float(min(M - k * CHUNK, CHUNK)), total = n + nb;
        const float delta = partials[(ch * p.chunks + k) * 2] - mean;
        mean += delta * (nb / total);
        m2 += partials[(ch * p.chunks + k) * 2 + 1] + delta * delta * (n * nb / total);
        n = total;
    }
    const float var = m2 / float(M);
    stats[ch] = mean;
    stats[p.c + ch] = inversesqrt(var + EPS);
    runningMean[ch] = (1.0 - MOMENTUM) * runningMean[ch] + MOMENTUM * mean;
    runningVar[ch] = (1.0 - MOMENTUM) * runningVar[ch] + MOMENTUM * var * (float(M) / float(M - 1));
}
