#version 450
// d loss / d a = dloss * b for loss = sum(a * b).
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Bindings: 0 b (act_t), 1 dloss [1] (float), 2 da (act_t).  Push: count.  Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(std430, binding = 0) readonly buffer B { act_t b[]; };
layout(std430, binding = 0) readonly buffer B4 { act4_t b4[]; };
layout(std430, binding = 1) readonly buffer DL { float dloss[]; };
layout(std430, binding = 2) writeonly buffer DA { act_t da[]; };
layout(std430, binding = 2) writeonly buffer DA4 { act4_t da4[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        da4[i] = act4_t(dloss[0] * vec4(b4[i]));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) da[k] = act_t(dloss[0] * float(b[k]));
}
