#version 450
// Clip backward, torch.clamp's rule (1.13 clamp_backward): dx = dy where LO <= x <= HI (ties at the bounds pass
// the gradient), 0 elsewhere. Taken from the input x, since the output cannot tell a tie from a clipped value.
// Bindings: 0 x, 1 dy, 2 dx (act_t).  Specialization: 0 LO, 1 HI (floats).  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const float LO = 0.0;
layout(constant_id = 1) const float HI = 1.0;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 2) writeonly buffer DX { act_t dx[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    float v = float(x[i]);
    dx[i] = (v >= LO && v <= HI) ? dy[i] : act_t(0.0);
}
