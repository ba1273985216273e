#version 450
// d loss / d a = dloss * b for loss = sum(a * b).
// Bindings: 0 b (act_t), 1 dloss [1] (float), 2 da (act_t).  Push: count.  Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(std430, binding = 0) readonly buffer B { act_t b[]; };
layout(std430, binding = 1) readonly buffer DL { float dloss[]; };
layout(std430, binding = 2) writeonly buffer DA { act_t da[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i < p.count) da[i] = act_t(dloss[0] * float(b[i]));
}
