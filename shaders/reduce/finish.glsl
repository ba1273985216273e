// The finishing step of Kiln's full reductions (engine/Layers/Loss/LossReduction.cs), shared by the first-level
// shaders (which finish themselves when they run as one workgroup) and reduce/finish.comp (which sums the partials of
// many workgroups): a fixed shared-memory tree over REDUCE_SIZE invocations and the loss's final arithmetic.
// Specialization: 0 FINISH (0 mean: s0 / DIVISOR; 1 ratio: s0 / max(s1 * DIVISOR, 1); 2 clamp: max(s0 * DIVISOR, 1)),
// 1 DIVISOR (float).  Workgroup: REDUCE_SIZE (256) invocations along x.
#ifndef KILN_FINISH_GLSL
#define KILN_FINISH_GLSL
#define REDUCE_SIZE 256
layout(constant_id = 0) const int FINISH = 0;
layout(constant_id = 1) const float DIVISOR = 1.0;

float kiln_finish(vec2 s)
{
    if (FINISH == 0) return s.x / DIVISOR;
    if (FINISH == 1) return s.x / max(s.y * DIVISOR, 1.0);
    return max(s.x * DIVISOR, 1.0);
}

shared vec2 kiln_tree[REDUCE_SIZE];

// Sum of every invocation's v in a fixed order (halving tree); invocation 0 gets the total.
vec2 kiln_tree_sum(vec2 v)
{
    uint t = gl_LocalInvocationID.x;
    kiln_tree[t] = v;
    barrier();
    for (uint s = REDUCE_SIZE / 2; s > 0; s >>= 1)
    {
        if (t < s) kiln_tree[t] += kiln_tree[t + s];
        barrier();
    }
    return kiln_tree[0];
}
#endif
