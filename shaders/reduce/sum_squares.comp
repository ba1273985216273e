#version 450
// Sum of squares of one gradient, for global-norm clipping (engine/Training/GradientClipping.cs), as a split reduction
// (shaders/reduce/split.glsl; FINISH 0, DIVISOR 1): each workgroup a contiguous chunk, read as vec4.
// Bindings: 0 g, 1 result (the sum [1] when one workgroup runs, else partials [groups]).
// Specialization: 0 FINISH, 1 DIVISOR (shaders/reduce/finish.glsl).  Push: count, chunk (elements per workgroup, a
// multiple of 1024).  Dispatch: groups x 1 x 1 (engine/Layers/Loss/LossReduction.cs), local x = 256.
#include "kiln.glsl"
#define SPLIT_BINDING 1
#define SPLIT_WIDTH 1
#include "split.glsl"
layout(std430, binding = 0) readonly buffer G4 { vec4 g4[]; };
layout(std430, binding = 0) readonly buffer G { float g[]; };
layout(push_constant) uniform P { uint count, chunk; } p;
vec4 kiln_term4(uint q)
{
    vec4 v = g4[q];
    return v * v;
}
float kiln_term(uint i)
{
    return g[i] * g[i];
}
#include "stream.glsl"
void main()
{
    kiln_split_store(vec2(kiln_stream_sum(p.count, p.chunk), 0.0));
}
