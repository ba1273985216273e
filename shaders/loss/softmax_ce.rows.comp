#version 450
// Per-row statistics for the backward of the softmax cross-entropy: stats[2n] = lse (log sum exp of row n of the
// logits, shifted by the row maximum), stats[2n + 1] = sum_c t[n, c] (1 for a probability target).
// Bindings: 0 logits [N, CLASSES], 1 target [N, CLASSES] (act_t), 2 stats [N, 2] (float).  Specialization: 0 CLASSES (uint).
// Push: rows (N).  Dispatch: Emitter.ElementwiseGroups(N), one invocation per row, local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const uint CLASSES = 1;
layout(std430, binding = 0) readonly buffer X { act_t logits[]; };
layout(std430, binding = 1) readonly buffer Tg { act_t target[]; };
layout(std430, binding = 2) writeonly buffer S { float stats[]; };
layout(push_constant) uniform P { uint rows; } p;
void main()
{
    uint n = kiln_element_index();
    if (n >= p.rows) return;
    uint base = n * CLASSES;
    float m = float(logits[base]);
    for (uint c = 1; c < CLASSES; c++) m = max(m, float(logits[base + c]));
    float se = 0.0, ts = 0.0;
    for (uint c = 0; c < CLASSES; c++)
    {
        se += exp(float(logits[base + c]) - m);
        ts += float(target[base + c]);
    }
    stats[2 * n] = m + log(se);
    stats[2 * n + 1] = ts;
}
