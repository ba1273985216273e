#version 450
// Gradient of one input of c = a OP b (binary.fwd), written (not accumulated):
//   mul: da = dy * b, db = dy * a;  sub: da = dy, db = -dy;  div: da = dy / b, db = -dy * (a / b) / b (PyTorch's order).
// Bindings: 0 a, 1 b, 2 dy, 3 d (the gradient of input WHICH) (act_t).  Specialization: 0 OP (0 mul, 1 sub, 2 div),
// 1 WHICH (0 = a, 1 = b).  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const int OP = 0;
layout(constant_id = 1) const int WHICH = 0;
layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer B { act_t b[]; };
layout(std430, binding = 2) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 3) writeonly buffer D { act_t d[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    float g = float(dy[i]), r;
    if (OP == 0) r = g * (WHICH == 0 ? float(b[i]) : float(a[i]));
    else if (OP == 1) r = WHICH == 0 ? g : -g;
    else r = WHICH == 0 ? g / float(b[i]) : -g * ((float(a[i]) / float(b[i])) / float(b[i]));
    d[i] = act_t(r);
}
