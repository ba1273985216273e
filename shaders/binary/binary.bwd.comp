#version 450
// Gradient of one input of c = a OP b (binary.fwd), written (not accumulated):
//   mul: da = dy * b, db = dy * a;  sub: da = dy, db = -dy;  div: da = dy / b, db = -dy * (a / b) / b (PyTorch's order).
// Bindings: 0 a, 1 b, 2 dy, 3 d (the gradient of input WHICH) (act_t).  Specialization: 0 OP (0 mul, 1 sub, 2 div),
// 1 WHICH (0 = a, 1 = b).  Push: count.
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const int OP = 0;
layout(constant_id = 1) const int WHICH = 0;
layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 0) readonly buffer A4 { act4_t a4[]; };
layout(std430, binding = 1) readonly buffer B { act_t b[]; };
layout(std430, binding = 1) readonly buffer B4 { act4_t b4[]; };
layout(std430, binding = 2) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 2) readonly buffer DY4 { act4_t dy4[]; };
layout(std430, binding = 3) writeonly buffer D { act_t d[]; };
layout(std430, binding = 3) writeonly buffer D4 { act4_t d4[]; };
layout(push_constant) uniform P { uint count; } p;
float gradient(float u, float v, float g)
{
    if (OP == 0) return g * (WHICH == 0 ? v : u);
    if (OP == 1) return WHICH == 0 ? g : -g;
    return WHICH == 0 ? g / v : -g * ((u / v) / v);
}
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        vec4 u = vec4(a4[i]), v = vec4(b4[i]), g = vec4(dy4[i]);
        d4[i] = act4_t(gradient(u.x, v.x, g.x), gradient(u.y, v.y, g.y), gradient(u.z, v.z, g.z), gradient(u.w, v.w, g.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) d[k] = act_t(gradient(float(a[k]), float(b[k]), float(dy[k])));
}
