#version 450
// loss = sum(a * b) over all count elements (FINISH 0, DIVISOR 1), as a split reduction (shaders/reduce/split.glsl):
// each workgroup a contiguous chunk, read as vec4.
// Bindings: 0 a (act_t), 1 b (act_t), 2 result (float) (the loss [1] when one workgroup runs, else partials [groups]).
// Specialization: 0 FINISH, 1 DIVISOR (shaders/reduce/finish.glsl).  Push: count, chunk (elements per workgroup,
// a multiple of 1024).  Dispatch: groups x 1 x 1 (engine/Layers/Loss/LossReduction.cs), local x = 256.
#include "kiln.glsl"
#include "storage.glsl"
#define SPLIT_BINDING 2
#define SPLIT_WIDTH 1
#include "../reduce/split.glsl"
layout(std430, binding = 0) readonly buffer A4 { act4_t a4[]; };
layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer B4 { act4_t b4[]; };
layout(std430, binding = 1) readonly buffer B { act_t b[]; };
layout(push_constant) uniform P { uint count, chunk; } p;
vec4 kiln_term4(uint q)
{
    return vec4(a4[q]) * vec4(b4[q]);
}
float kiln_term(uint i)
{
    return float(a[i]) * float(b[i]);
}
#include "../reduce/stream.glsl"
void main()
{
    kiln_split_store(vec2(kiln_stream_sum(p.count, p.chunk), 0.0));
}
