#version 450
// y = x, from activation storage (f16 in the .f16 variant) into f32: a network's named outputs and input gradients.
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Bindings: 0 x (act_t), 1 y (float).  Push: count.  Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        y4[i] = vec4(x4[i]);
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) y[k] = float(x[k]);
}
