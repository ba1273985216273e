#version 450
// dst = src, 16 bytes per element, grid-stride: the device's copy bandwidth (DeviceRoofline).
// Bindings: 0 src (vec4), 1 dst (vec4).  Specialization: none.  Push: count (vec4 elements).
// Dispatch: any number of 1-D workgroups; each invocation copies every (groups * local size)-th element.
#include "kiln.glsl"
layout(std430, binding = 0) readonly buffer Src { vec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) dst[i] = src[i];
}
