#version 450
// Clip backward, torch.clamp's rule (1.13 clamp_backward): dx = dy where LO <= x <= HI (ties at the bounds pass
// the gradient), 0 elsewhere. Taken from the input x, since the output cannot tell a tie from a clipped value.
// Bindings: 0 x, 1 dy, 2 dx (act_t).  Specialization: 0 LO, 1 HI (floats).  Push: count.
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const float LO = 0.0;
layout(constant_id = 1) const float HI = 1.0;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 0) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 1) readonly buffer DY4 { act4_t dy4[]; };
layout(std430, binding = 2) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 2) writeonly buffer DX4 { act4_t dx4[]; };
layout(push_constant) uniform P { uint count; } p;
float gradient(float v, float g) { return v >= LO && v <= HI ? g : 0.0; }
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        vec4 v = vec4(x4[i]), g = vec4(dy4[i]);
        dx4[i] = act4_t(gradient(v.x, g.x), gradient(v.y, g.y), gradient(v.z, g.z), gradient(v.w, g.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) dx[k] = act_t(gradient(float(x[k]), float(dy[k])));
}
