#version 450
// c = ALPHA * a + BETA * b elementwise, four elements per invocation (include/elementwise.glsl's vector kernels).
// Bindings: 0 a, 1 b, 2 c.  Specialization: 0 ALPHA, 1 BETA (floats).  Push: count.
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const float ALPHA = 1.0;
layout(constant_id = 1) const float BETA = 1.0;
layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 0) readonly buffer A4 { act4_t a4[]; };
layout(std430, binding = 1) readonly buffer B { act_t b[]; };
layout(std430, binding = 1) readonly buffer B4 { act4_t b4[]; };
layout(std430, binding = 2) writeonly buffer C { act_t c[]; };
layout(std430, binding = 2) writeonly buffer C4 { act4_t c4[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        c4[i] = act4_t(ALPHA * vec4(a4[i]) + BETA * vec4(b4[i]));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) c[k] = act_t(ALPHA * float(a[k]) + BETA * float(b[k]));
}
