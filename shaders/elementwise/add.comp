#version 450
// c = ALPHA * a + BETA * b elementwise.
// Bindings: 0 a, 1 b, 2 c.  Specialization: 0 ALPHA, 1 BETA (floats).  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const float ALPHA = 1.0;
layout(constant_id = 1) const float BETA = 1.0;
layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer B { act_t b[]; };
layout(std430, binding = 2) writeonly buffer C { act_t c[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i < p.count) c[i] = act_t(ALPHA * float(a[i]) + BETA * float(b[i]));
}
