#version 450
// c = a OP b with NumPy broadcasting (Kiln.Layers.Broadcast): shapes padded to 6 dimensions, an input's stride 0
// along a dimension it broadcasts. One invocation per output element.
// Bindings: 0 a, 1 b, 2 c (act_t).  Specialization: 0 OP (0 mul, 1 sub, 2 div, 3 add).
// Push: count (output elements), dims[6] (output), sa[6], sb[6] (element strides of a and b per output dimension).
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
#include "binary.glsl"
layout(constant_id = 0) const int OP = 0;
layout(std430, binding = 0) readonly buffer A { act_t a[]; };
layout(std430, binding = 1) readonly buffer B { act_t b[]; };
layout(std430, binding = 2) writeonly buffer C { act_t c[]; };
layout(push_constant) uniform P { uint count; int dims[6]; int sa[6]; int sb[6]; } p;
void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    uint rem = i;
    int ia = 0, ib = 0;
    for (int k = 5; k >= 0; k--)
    {
        const int coord = int(rem % uint(p.dims[k]));
        rem /= uint(p.dims[k]);
        ia += coord * p.sa[k];
        ib += coord * p.sb[k];
    }
    c[i] = act_t(binary_apply(OP, float(a[ia]), float(b[ib])));
}
