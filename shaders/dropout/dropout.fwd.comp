#version 450
// Dropout (training): y = keep(i) ? x * SCALE : 0, the mask a hash of (seed, step, i) from the step-state
// buffer (dropout.glsl), so each step draws a new mask and runs with the same seed repeat.
// Bindings: 0 step state  1 x (act_t)  2 y (act_t)
// Specialization: 0 THRESHOLD (uint, round(p * 2^24)), 1 SCALE (float, 1 / (1 - p))
// Push constants: count
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
#include "state.glsl"
#include "dropout.glsl"
DECLARE_STEP_STATE(0)
layout(constant_id = 0) const uint THRESHOLD = 0;
layout(constant_id = 1) const float SCALE = 1.0;
layout(std430, binding = 1) readonly buffer X { act_t x[]; };
layout(std430, binding = 2) writeonly buffer Y { act_t y[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    const uint i = kiln_element_index();
    if (i < p.count) y[i] = kiln_dropout_keep(state.seed, state.step, i, THRESHOLD) ? act_t(float(x[i]) * SCALE) : act_t(0.0);
}
