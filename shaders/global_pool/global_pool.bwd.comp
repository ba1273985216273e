#version 450
// Global average pooling gradient: dx[i] = dy[i / HW] / HW, one invocation per input element.
// Bindings: 0 dy [N, C, 1, 1] (act_t)  1 dx [N, C, H, W] (act_t)
// Specialization: 0 HW (pixels per plane; 0 = from push constants)
// Push constants: count (elements of dx), hw
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int S_HW = 0;

layout(std430, binding = 0) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 1) writeonly buffer DX { act_t dx[]; };

layout(push_constant) uniform P { uint count; int hw; } p;

void main()
{
    const int HW = BAKED(S_HW, p.hw);
    const uint i = kiln_element_index();
    if (i < p.count) dx[i] = act_t(float(dy[i / uint(HW)]) / float(HW));
}
