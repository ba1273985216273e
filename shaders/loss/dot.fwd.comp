#version 450
// loss = sum(a * b): one workgroup of 256 strides over all elements (losses are small next to the network).
// Bindings: 0 a, 1 b, 2 loss [1].  Push: count.  Dispatch: 1x1x1, local x = 256.
#include "kiln.glsl"
#define REDUCE_SIZE 256
#include "reduce.glsl"
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer L { float loss[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    float s = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.count; i += REDUCE_SIZE) s += a[i] * b[i];
    float total = kiln_workgroup_sum(s);
    if (gl_LocalInvocationID.x == 0) loss[0] = total;
}
