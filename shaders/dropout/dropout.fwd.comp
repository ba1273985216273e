#version 450
// Dropout (training): y = keep(i) ? x * SCALE : 0, the mask a hash of (seed, step, i) from the step-state
// buffer (dropout.glsl), so each step draws a new mask and runs with the same seed repeat.
// Bindings: 0 step state  1 x (act_t)  2 y (act_t)
// Specialization: 0 THRESHOLD (uint, round(p * 2^24)), 1 SCALE (float, 1 / (1 - p))
// Push constants: count
// Four elements per invocation (include/elementwise.glsl's vector kernels).
// Dispatch: Emitter.VectorGroups(count), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
#include "state.glsl"
#include "dropout.glsl"
DECLARE_STEP_STATE(0)
layout(constant_id = 0) const uint THRESHOLD = 0;
layout(constant_id = 1) const float SCALE = 1.0;
layout(std430, binding = 1) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer X4 { act4_t x4[]; };
layout(std430, binding = 2) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 2) writeonly buffer Y4 { act4_t y4[]; };
layout(push_constant) uniform P { uint count; } p;
// Element k, kept or dropped by its own hash.
float dropped(float v, uint k) { return kiln_dropout_keep(state.seed, state.step, k, THRESHOLD) ? v * SCALE : 0.0; }
void main()
{
    const uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        const vec4 v = vec4(x4[i]);
        y4[i] = act4_t(dropped(v.x, 4u * i), dropped(v.y, 4u * i + 1u), dropped(v.z, 4u * i + 2u), dropped(v.w, 4u * i + 3u));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) y[k] = act_t(dropped(float(x[k]), k));
}
