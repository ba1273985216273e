#version 450
// Plain SGD: w -= learningRate * g, the rate read from the step-state buffer.
// Bindings: 0 step state, 1 g, 2 w.  Push: count.  Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "state.glsl"
DECLARE_STEP_STATE(0)
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer Wt { float w[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i < p.count) w[i] -= state.learningRate * g[i];
}
