#version 450
// y = x with its dimensions permuted (Transpose's forward, and its backward with the inverse permutation): one
// invocation per element of y, whose row-major coordinates (dims, padded to 6 with leading 1s) read x at
// sum(coord[k] * srcStride[k]), srcStride[k] being x's element stride along the dimension that y's dimension k came from.
// Bindings: 0 x (act_t), 1 y (act_t): a copy, so the f16-storage build moves halves.  Specialization: none.  Push: count, dims[6] (y's shape), srcStride[6].
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(push_constant) uniform P { uint count; int dims[6]; int srcStride[6]; } p;
void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    uint rem = i;
    int src = 0;
    for (int k = 5; k >= 0; k--)
    {
        src += int(rem % uint(p.dims[k])) * p.srcStride[k];
        rem /= uint(p.dims[k]);
    }
    y[i] = x[src];
}
