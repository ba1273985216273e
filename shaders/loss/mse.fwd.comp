#version 450
// loss = mean((p - t)^2) over all count elements (PyTorch's mean reduction; FINISH 0, DIVISOR float(count)), as a
// split reduction (shaders/reduce/split.glsl): each workgroup a contiguous chunk, read as vec4.
// Bindings: 0 prediction, 1 target (act_t), 2 result (float) (the loss [1] when one workgroup runs, else partials [groups]).
// Specialization: 0 FINISH, 1 DIVISOR (shaders/reduce/finish.glsl).  Push: count, chunk (elements per workgroup,
// a multiple of 1024).  Dispatch: groups x 1 x 1 (engine/Layers/Loss/LossReduction.cs), local x = 256.
#include "kiln.glsl"
#include "storage.glsl"
#define SPLIT_BINDING 2
#define SPLIT_WIDTH 1
#include "../reduce/split.glsl"
layout(std430, binding = 0) readonly buffer A4 { act4_t pred4[]; };
layout(std430, binding = 0) readonly buffer A { act_t pred[]; };
layout(std430, binding = 1) readonly buffer B4 { act4_t target4[]; };
layout(std430, binding = 1) readonly buffer B { act_t target[]; };
layout(push_constant) uniform P { uint count, chunk; } p;
vec4 kiln_term4(uint q)
{
    vec4 d = vec4(pred4[q]) - vec4(target4[q]);
    return d * d;
}
float kiln_term(uint i)
{
    float d = float(pred[i]) - float(target[i]);
    return d * d;
}
#include "../reduce/stream.glsl"
void main()
{
    kiln_split_store(vec2(kiln_stream_sum(p.count, p.chunk), 0.0));
}
