#version 450
// y = VALUE everywhere.
// Bindings: 0 y.  Specialization: 0 VALUE (float).  Push: count.  Dispatch: Emitter.ElementwiseGroups(count).
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const float VALUE = 0.0;
layout(std430, binding = 0) writeonly buffer Y { act_t y[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i < p.count) y[i] = act_t(VALUE);
}
