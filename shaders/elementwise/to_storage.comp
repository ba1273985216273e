#version 450
// y = x, from f32 into activation storage (f16 in the .f16 variant): a network's f32 inputs entering f16 activations.
// Bindings: 0 x (float), 1 y (act_t).  Push: count.  Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i < p.count) y[i] = act_t(x[i]);
}
