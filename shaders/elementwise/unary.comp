#version 450
// y = op(x) elementwise, four elements per invocation (include/elementwise.glsl's vector kernels).
// Bindings: 0 x, 1 y.  Specialization: 0 OP (Activation code, 0 = copy), 1 SLOPE (float, LeakyReLU).
// Push: count.  Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const int OP = 0;
layout(constant_id = 1) const float SLOPE = 0.01;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 1) writeonly buffer Y4 { act4_t y4[]; };
layout(push_constant) uniform P { uint count; } p;
float op(float v) { return kiln_activate(v, OP, SLOPE); }
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        vec4 v = vec4(x4[i]);
        y4[i] = act4_t(op(v.x), op(v.y), op(v.z), op(v.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) y[k] = act_t(op(float(x[k])));
}
