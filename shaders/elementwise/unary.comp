#version 450
// y = op(x) elementwise.
// Bindings: 0 x, 1 y.  Specialization: 0 OP (Activation code, 0 = copy), 1 SLOPE (float, LeakyReLU).
// Push: count.  Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const int OP = 0;
layout(constant_id = 1) const float SLOPE = 0.01;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i < p.count) y[i] = act_t(kiln_activate(float(x[i]), OP, SLOPE));
}
