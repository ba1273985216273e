#version 450
// Dropout gradient: dx = keep(i) ? dy * SCALE : 0, the same mask as the forward step (recomputed from the
// same hash of seed, step and index; the step counter advances only after the update phase).
// Bindings: 0 step state  1 dy (act_t)  2 dx (act_t)
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
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 2) writeonly buffer DX { act_t dx[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    const uint i = kiln_element_index();
    if (i < p.count) dx[i] = kiln_dropout_keep(state.seed, state.step, i, THRESHOLD) ? act_t(float(dy[i]) * SCALE) : act_t(0.0);
}
