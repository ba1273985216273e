#version 450
// loss = -(1/N) sum_n sum_c t[n,c] log_softmax(x[n,:])[c]: cross-entropy of logits x [N, CLASSES] against class
// probabilities t [N, CLASSES] (PyTorch's CrossEntropyLoss with probability targets, mean over N). log_softmax is
// x - lse with lse = m + log(sum exp(x - m)), m the row maximum. One workgroup of 256; each invocation takes rows
// n = local id, local id + 256, ... and the workgroup sums them.
// Bindings: 0 logits, 1 target, 2 loss [1].  Specialization: 0 CLASSES (uint).  Push: rows (N).
// Dispatch: 1x1x1, local x = 256.
#include "kiln.glsl"
#define REDUCE_SIZE 256
#include "reduce.glsl"
layout(constant_id = 0) const uint CLASSES = 1;
layout(std430, binding = 0) readonly buffer X { float logits[]; };
layout(std430, binding = 1) readonly buffer Tg { float target[]; };
layout(std430, binding = 2) writeonly buffer L { float loss[]; };
layout(push_constant) uniform P { uint rows; } p;
void main()
{
    float s = 0.0;
    for (uint n = gl_LocalInvocationID.x; n < p.rows; n += REDUCE_SIZE)
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
    float total = kiln_workgroup_sum(s);
    if (gl_LocalInvocationID.x == 0) loss[0] = total / float(p.rows);
}
