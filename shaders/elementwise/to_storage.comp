#version 450
// y = x, from f32 into activation storage (f16 in the .f16 variant): a network's f32 inputs entering f16 activations.
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Bindings: 0 x (float), 1 y (act_t).  Push: count.  Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 1) writeonly buffer Y4 { act4_t y4[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        y4[i] = act4_t(x4[i]);
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) y[k] = act_t(x[k]);
}
