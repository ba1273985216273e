#version 450
// c = a OP b elementwise over two inputs of the same shape: OP 0 mul (a * b), 1 sub (a - b), 2 div (a / b), 3 add.
// Bindings: 0 a, 1 b, 2 c (act_t).  Specialization: 0 OP.  Push: count.
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const int OP = 0;
layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 0) readonly buffer A4 { act4_t a4[]; };
layout(std430, binding = 1) readonly buffer B { act_t b[]; };
layout(std430, binding = 1) readonly buffer B4 { act4_t b4[]; };
layout(std430, binding = 2) writeonly buffer C { act_t c[]; };
layout(std430, binding = 2) writeonly buffer C4 { act4_t c4[]; };
layout(push_constant) uniform P { uint count; } p;
float apply(float u, float v) { return OP == 0 ? u * v : OP == 1 ? u - v : OP == 2 ? u / v : u + v; }
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        vec4 u = vec4(a4[i]), v = vec4(b4[i]);
        c4[i] = act4_t(apply(u.x, v.x), apply(u.y, v.y), apply(u.z, v.z), apply(u.w, v.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) c[k] = act_t(apply(float(a[k]), float(b[k])));
}
