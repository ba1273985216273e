#version 450
// loss = -(1/N) sum_n sum_c t[n,c] log_softmax(x[n,:])[c]: cross-entropy of logits x [N, CLASSES] against class
// probabilities t [N, CLASSES] (PyTorch's CrossEntropyLoss with probability targets, mean over N; FINISH 0, DIVISOR
// float(N)). log_softmax is x - lse with lse = m + log(sum exp(x - m)), m the row maximum. A split reduction over rows
// (shaders/reduce/split.glsl): workgroup g takes its chunk of rows, ROW_LANES invocations per row (a workgroup holds
// 256 / ROW_LANES rows at a time): ROW_LANES = 1, invocation t takes rows begin + t, + 256, ... whole; ROW_LANES > 1
// (many classes), lane l of a row takes classes l, l + ROW_LANES, ... (consecutive lanes, consecutive floats) and the
// row's maximum and sums are fixed shared-memory trees over its lanes.
// Bindings: 0 logits, 1 target (act_t), 2 result (float) (the loss [1] when one workgroup runs, else partials [groups]).
// Specialization: 0 FINISH, 1 DIVISOR (shaders/reduce/finish.glsl), 2 CLASSES (uint), 3 ROW_LANES (1, or a power of two
// up to 256).  Push: rows (N), chunk (rows per workgroup, a multiple of 256 / ROW_LANES).
// Dispatch: groups x 1 x 1 (engine/Layers/Loss/LossReduction.cs), local x = 256.
#include "kiln.glsl"
#include "storage.glsl"
#define SPLIT_BINDING 2
#define SPLIT_WIDTH 1
#include "../reduce/split.glsl"
layout(constant_id = 2) const uint CLASSES = 1;
layout(constant_id = 3) const uint ROW_LANES = 1;
layout(std430, binding = 0) readonly buffer X { act_t logits[]; };
layout(std430, binding = 1) readonly buffer Tg { act_t target[]; };
layout(push_constant) uniform P { uint rows, chunk; } p;
shared float row_tree[ROW_LANES == 1u ? 1 : REDUCE_SIZE];

// Combines v over the ROW_LANES lanes of each row (max or sum, in a fixed tree); every lane gets the row's result.
// Called by every invocation of the workgroup (barriers).
float row_combine(float v, bool take_max)
{
    uint t = gl_LocalInvocationID.x, lane = t % ROW_LANES;
    row_tree[t] = v;
    barrier();
    for (uint s = ROW_LANES / 2u; s > 0u; s >>= 1)
    {
        if (lane < s) row_tree[t] = take_max ? max(row_tree[t], row_tree[t + s]) : row_tree[t] + row_tree[t + s];
        barrier();
    }
    float r = row_tree[t - lane];
    barrier(); // every lane has read its row's result before the tree is reused
    return r;
}

void main()
{
    uvec2 r = kiln_split_range(p.rows, p.chunk);
    float s = 0.0;
    if (ROW_LANES == 1u)
    {
        for (uint n = r.x + gl_LocalInvocationID.x; n < r.y; n += REDUCE_SIZE)
        {
            uint base = n * CLASSES;
            float m = float(logits[base]);
            for (uint c = 1; c < CLASSES; c++) m = max(m, float(logits[base + c]));
            float se = 0.0;
            for (uint c = 0; c < CLASSES; c++) se += exp(float(logits[base + c]) - m);
            float lse = m + log(se);
            float row = 0.0;
            for (uint c = 0; c < CLASSES; c++) row += float(target[base + c]) * (float(logits[base + c]) - lse);
            s -= row;
        }
    }
    else
    {
        const uint per = REDUCE_SIZE / ROW_LANES;
        uint lane = gl_LocalInvocationID.x % ROW_LANES;
        // Every invocation runs the same number of rounds (the trees have barriers); rows past the end add nothing.
        for (uint n0 = r.x; n0 < r.y; n0 += per)
        {
            uint n = n0 + gl_LocalInvocationID.x / ROW_LANES;
            bool live = n < r.y;
            uint base = n * CLASSES;
            float m = -3.402823466e38;
            if (live) for (uint c = lane; c < CLASSES; c += ROW_LANES) m = max(m, float(logits[base + c]));
            m = row_combine(m, true);
            float se = 0.0;
            if (live) for (uint c = lane; c < CLASSES; c += ROW_LANES) se += exp(float(logits[base + c]) - m);
            float lse = m + log(row_combine(se, false));
            float row = 0.0;
            if (live) for (uint c = lane; c < CLASSES; c += ROW_LANES) row += float(target[base + c]) * (float(logits[base + c]) - lse);
            s -= row; // the workgroup tree adds the lanes' parts of each row
        }
    }
    kiln_split_store(vec2(s, 0.0));
}
