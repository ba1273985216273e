#version 450
// BatchNorm2d's normalisation, elementwise: y = (x - mean[c]) * invStd[c] * weight[c] + bias[c], as
// y = x * scale + shift with scale = weight[c] invStd[c], shift = bias[c] - mean[c] scale. Four elements per
// invocation (include/elementwise.glsl's vector kernels), each lane with its own channel.
// STATS 0 (the evaluation form): mean = running_mean[c], invStd = 1 / sqrt(running_var[c] + EPS).
// STATS 1 (a training step): the batch statistics batchnorm.finish wrote, mean = stats[c], invStd = stats[C + c].
// Bindings: 0 x (act_t)  1 weight [C]  2 bias [C]  3 running_mean [C] or stats [2C]  4 running_var [C] or stats (float)
//           5 y (act_t); x and y [N, H, W, C] in the .nhwc variant (KILN_NHWC)
// Specialization: 0 STATS (0/1), 1 EPS (float)
// Push constants: count (N*C*H*W), c, hw
// Dispatch: Emitter.VectorGroups(count), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int STATS = 0;
layout(constant_id = 1) const float EPS = 1e-5;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 1) readonly buffer W { float weight[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(std430, binding = 3) readonly buffer Mean { float meanSource[]; };
layout(std430, binding = 4) readonly buffer Var { float varSource[]; };
layout(std430, binding = 5) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 5) writeonly buffer Y4 { act4_t y4[]; };

layout(push_constant) uniform P { uint count; int c, hw; } p;

// The channel of element k.
int channel(uint k)
{
#if KILN_NHWC
    return int(k % uint(p.c));
#else
    return int(k / uint(p.hw) % uint(p.c));
#endif
}

float normalise(float v, int ch)
{
    const float invStd = STATS != 0 ? varSource[p.c + ch] : inversesqrt(varSource[ch] + EPS);
    const float scale = weight[ch] * invStd, shift = bias[ch] - meanSource[ch] * scale;
    return v * scale + shift;
}

void main()
{
    const uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        const vec4 v = vec4(x4[i]);
        y4[i] = act4_t(normalise(v.x, channel(4u * i)), normalise(v.y, channel(4u * i + 1u)),
                       normalise(v.z, channel(4u * i + 2u)), normalise(v.w, channel(4u * i + 3u)));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) y[k] = act_t(normalise(float(x[k]), channel(k)));
}
