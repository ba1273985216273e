// First level of Kiln's two-level deterministic reductions (engine/Layers/Loss/LossReduction.cs): workgroup g of
// gl_NumWorkGroups.x reduces its own contiguous chunk [g * chunk, min((g + 1) * chunk, count)) of units (elements, or
// rows), each invocation adding the units it owns in order and the workgroup adding those in a fixed tree, then writes
// its partial (SPLIT_WIDTH floats) to result[g * SPLIT_WIDTH ...]; reduce/finish.comp adds the partials in a fixed order.
// Run as one workgroup, it writes the finished value (kiln_finish) to result[0] itself. No atomics: same bits every run.
// Define before including: SPLIT_BINDING (the result buffer's binding), SPLIT_WIDTH (1 or 2 sums per workgroup).
#ifndef KILN_SPLIT_GLSL
#define KILN_SPLIT_GLSL
#include "finish.glsl"
layout(std430, binding = SPLIT_BINDING) writeonly buffer SplitResult { float split_result[]; };

// This workgroup's [begin, end) for count units in chunks of chunk (a multiple of 4 * REDUCE_SIZE for vec4 streams).
uvec2 kiln_split_range(uint count, uint chunk)
{
    uint begin = min(gl_WorkGroupID.x * chunk, count);
    return uvec2(begin, min(begin + chunk, count));
}

// Adds every invocation's s in the fixed tree and stores the workgroup's partial (or, alone, the finished value).
void kiln_split_store(vec2 s)
{
    vec2 total = kiln_tree_sum(s);
    if (gl_LocalInvocationID.x != 0u) return;
    if (gl_NumWorkGroups.x == 1u)
    {
        split_result[0] = kiln_finish(total);
        return;
    }
    split_result[gl_WorkGroupID.x * SPLIT_WIDTH] = total.x;
    if (SPLIT_WIDTH == 2) split_result[gl_WorkGroupID.x * SPLIT_WIDTH + 1] = total.y;
}
#endif
