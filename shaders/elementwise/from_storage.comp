#version 450
// y = x, from activation storage (f16 in the .f16 variant) into f32: a network's named outputs and input gradients.
// Bindings: 0 x (act_t), 1 y (float).  Push: count.  Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i < p.count) y[i] = float(x[i]);
}
