#version 450
// loss = mean(max(x, 0) - x t + log(1 + exp(-|x|))) over all count elements: binary cross-entropy of logits x against
// targets t (PyTorch's BCEWithLogitsLoss, mean reduction, its numerically stable form; FINISH 0, DIVISOR float(count)).
// log(1 + e) is computed accurately for small e. A split reduction (shaders/reduce/split.glsl): each workgroup a
// contiguous chunk, read as vec4.
// Bindings: 0 logits, 1 target (act_t), 2 result (float) (the loss [1] when one workgroup runs, else partials [groups]).
// Specialization: 0 FINISH, 1 DIVISOR (shaders/reduce/finish.glsl).  Push: count, chunk (elements per workgroup,
// a multiple of 1024).  Dispatch: groups x 1 x 1 (engine/Layers/Loss/LossReduction.cs), local x = 256.
#include "kiln.glsl"
#include "storage.glsl"
#define SPLIT_BINDING 2
#define SPLIT_WIDTH 1
#include "../reduce/split.glsl"
layout(std430, binding = 0) readonly buffer A4 { act4_t logits4[]; };
layout(std430, binding = 0) readonly buffer A { act_t logits[]; };
layout(std430, binding = 1) readonly buffer B4 { act4_t target4[]; };
layout(std430, binding = 1) readonly buffer B { act_t target[]; };
layout(push_constant) uniform P { uint count, chunk; } p;
// log(1 + e) for e >= 0 without losing small e (Goldberg's log1p).
float log1p_small(float e)
{
    float u = 1.0 + e;
    return u == 1.0 ? e : log(u) * (e / (u - 1.0));
}
float bce(float x, float t)
{
    return max(x, 0.0) - x * t + log1p_small(exp(-abs(x)));
}
vec4 kiln_term4(uint q)
{
    vec4 x = vec4(logits4[q]), t = vec4(target4[q]);
    return vec4(bce(x.x, t.x), bce(x.y, t.y), bce(x.z, t.z), bce(x.w, t.w));
}
float kiln_term(uint i)
{
    return bce(float(logits[i]), float(target[i]));
}
#include "../reduce/stream.glsl"
void main()
{
    kiln_split_store(vec2(kiln_stream_sum(p.count, p.chunk), 0.0));
}
