#version 450
// loss = -(1/N) sum_n sum_c t[n,c] log_softmax(x[n,:])[c]: cross-entropy of logits x [N, CLASSES] against class
// probabilities t [N, CLASSES] (PyTorch's CrossEntropyLoss with probability targets, mean over N; FINISH 0, DIVISOR
// float(N)). log_softmax is x - lse with lse = m + log(sum exp(x - m)), m the row maximum. A split reduction over rows
// (shaders/reduce/split.glsl): workgroup g takes its chunk of rows, invocation t rows begin + t, + 256, ...
// Bindings: 0 logits, 1 target, 2 result (the loss [1] when one workgroup runs, else partials [groups]).
// Specialization: 0 FINISH, 1 DIVISOR (shaders/reduce/finish.glsl), 2 CLASSES (uint).
// Push: rows (N), chunk (rows per workgroup, a multiple of 256).
// Dispatch: groups x 1 x 1 (engine/Layers/Loss/LossReduction.cs), local x = 256.
#include "kiln.glsl"
#define SPLIT_BINDING 2
#define SPLIT_WIDTH 1
#include "../reduce/split.glsl"
layout(constant_id = 2) const uint CLASSES = 1;
layout(std430, binding = 0) readonly buffer X { float logits[]; };
layout(std430, binding = 1) readonly buffer Tg { float target[]; };
layout(push_constant) uniform P { uint rows, chunk; } p;
void main()
{
    uvec2 r = kiln_split_range(p.rows, p.chunk);
    float s = 0.0;
    for (uint n = r.x + gl_LocalInvocationID.x; n < r.y; n += REDUCE_SIZE)
    {
        uint base = n * CLASSES;
        float m = logits[base];
        for (uint c = 1; c < CLASSES; c++) m = max(m, logits[base + c]);
        float se = 0.0;
        for (uint c = 0; c < CLASSES; c++) se += exp(logits[base + c] - m);
        float lse = m + log(se);
        float row = 0.0;
        for (uint c = 0; c < CLASSES; c++) row += target[base + c] * (logits[base + c] - lse);
        s -= row;
    }
    kiln_split_store(vec2(s, 0.0));
}
