#version 450
// y = VALUE everywhere, four elements per invocation (include/elementwise.glsl's vector kernels).
// Bindings: 0 y.  Specialization: 0 VALUE (float).  Push: count.  Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const float VALUE = 0.0;
layout(std430, binding = 0) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 0) writeonly buffer Y4 { act4_t y4[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        y4[i] = act4_t(VALUE);
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) y[k] = act_t(VALUE);
}
