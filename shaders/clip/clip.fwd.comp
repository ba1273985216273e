#version 450
// Clip (torch.clamp): y = min(max(x, LO), HI) elementwise, LO <= HI.
// Bindings: 0 x, 1 y (act_t).  Specialization: 0 LO, 1 HI (floats).  Push: count.
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const float LO = 0.0;
layout(constant_id = 1) const float HI = 1.0;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 1) writeonly buffer Y4 { act4_t y4[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        y4[i] = act4_t(min(max(vec4(x4[i]), vec4(LO)), vec4(HI)));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) y[k] = act_t(min(max(float(x[k]), LO), HI));
}
