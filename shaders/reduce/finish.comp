#version 450
// Second level of Kiln's two-level reductions (engine/Layers/Loss/LossReduction.cs): one workgroup adds the partials
// [groups, WIDTH] of the first level (shaders/reduce/split.glsl) in a fixed order (invocation t: partials t, t + 256,
// ... in turn, then the shared-memory tree) and writes kiln_finish of the sums: deterministic, no atomics.
// Bindings: 0 partials [groups, WIDTH], 1 result [1].
// Specialization: 0 FINISH, 1 DIVISOR (shaders/reduce/finish.glsl), 2 WIDTH (1 or 2).  Push: groups.
// Dispatch: 1x1x1, local x = 256.
#include "kiln.glsl"
#include "finish.glsl"
layout(constant_id = 2) const uint WIDTH = 1;
layout(std430, binding = 0) readonly buffer Part { float partial[]; };
layout(std430, binding = 1) writeonly buffer Result { float result[]; };
layout(push_constant) uniform P { uint groups; } p;
void main()
{
    vec2 s = vec2(0.0);
    for (uint g = gl_LocalInvocationID.x; g < p.groups; g += REDUCE_SIZE)
        s += vec2(partial[g * WIDTH], WIDTH == 2u ? partial[g * WIDTH + 1u] : 0.0);
    vec2 total = kiln_tree_sum(s);
    if (gl_LocalInvocationID.x == 0u) result[0] = kiln_finish(total);
}
