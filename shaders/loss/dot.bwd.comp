#version 450
// d loss / d a = dloss * b for loss = sum(a * b).
// Bindings: 0 b, 1 dloss [1], 2 da.  Push: count.  Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
layout(std430, binding = 0) readonly buffer B { float b[]; };
layout(std430, binding = 1) readonly buffer DL { float dloss[]; };
layout(std430, binding = 2) writeonly buffer DA { float da[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i < p.count) da[i] = dloss[0] * b[i];
}
