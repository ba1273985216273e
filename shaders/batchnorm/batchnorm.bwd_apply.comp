#version 450
// BatchNorm2d's input gradient, elementwise, with xhat = (x - mean[c]) invStd[c]:
//   STATS 1 (a training step, batch statistics): dx = weight invStd (dy - dbias / M - xhat dweight / M), where
//     mean = stats[c], invStd = stats[C + c] (batchnorm.finish) and dbias, dweight are batchnorm.bwd_finish's sums;
//   STATS 0 (the evaluation form: running statistics, constants): dx = dy weight / sqrt(running_var[c] + EPS).
// Four elements per invocation (include/elementwise.glsl's vector kernels), each lane with its own channel.
// Bindings: 0 x (act_t)  1 dy (act_t)  2 weight [C]  3 stats or running_mean  4 stats or running_var  5 dweight [C]
//           6 dbias [C] (float)  7 dx (act_t); [N, C, H, W], or [N, H, W, C] in the .nhwc variant (KILN_NHWC, a
//           channels-last training plan)
// Specialization: 0 STATS (0/1), 1 EPS (float)
// Push constants: count (N*C*H*W), c, hw, m (N*H*W)
// Dispatch: Emitter.VectorGroups(count), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int STATS = 1;
layout(constant_id = 1) const float EPS = 1e-5;

layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 1) readonly buffer DY4 { act4_t dy4[]; };
layout(std430, binding = 2) readonly buffer W { float weight[]; };
layout(std430, binding = 3) readonly buffer Mean { float meanSource[]; };
layout(std430, binding = 4) readonly buffer Var { float varSource[]; };
layout(std430, binding = 5) readonly buffer DW { float dweight[]; };
layout(std430, binding = 6) readonly buffer DB { float dbias[]; };
layout(std430, binding = 7) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 7) writeonly buffer DX4 { act4_t dx4[]; };

layout(push_constant) uniform P { uint count; int c, hw, m; } p;

float gradient(float xv, float g, uint k)
{
#if KILN_NHWC
    const int ch = int(k % uint(p.c));
#else
    const int ch = int(k / uint(p.hw) % uint(p.c));
#endif
    if (STATS == 0) return g * weight[ch] * inversesqrt(varSource[ch] + EPS);
    const float invStd = varSource[p.c + ch], invM = 1.0 / float(p.m);
    const float xhat = (xv - meanSource[ch]) * invStd;
    return weight[ch] * invStd * (g - dbias[ch] * invM - xhat * dweight[ch] * invM);
}

void main()
{
    const uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        const vec4 xv = vec4(x4[i]), g = vec4(dy4[i]);
        dx4[i] = act4_t(gradient(xv.x, g.x, 4u * i), gradient(xv.y, g.y, 4u * i + 1u),
                        gradient(xv.z, g.z, 4u * i + 2u), gradient(xv.w, g.w, 4u * i + 3u));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) dx[k] = act_t(gradient(float(x[k]), float(dy[k]), k));
}
