#version 450
// c = a OP b elementwise over two inputs of the same shape: OP 0 mul (a * b), 1 sub (a - b), 2 div (a / b), 3 add.
// Bindings: 0 a, 1 b, 2 c (act_t).  Specialization: 0 OP.  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const int OP = 0;
layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer B { act_t b[]; };
layout(std430, binding = 2) writeonly buffer C { act_t c[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    float u = float(a[i]), v = float(b[i]);
    c[i] = act_t(OP == 0 ? u * v : OP == 1 ? u - v : OP == 2 ? u / v : u + v);
}
