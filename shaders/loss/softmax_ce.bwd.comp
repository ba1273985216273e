#version 450
// Gradients of loss = -(1/N) sum t log_softmax(x), with lse and tsum from softmax_ce.rows:
//   WHICH = 0 (logits): grad[n,c] = dloss[0] / N * (exp(x[n,c] - lse[n]) tsum[n] - t[n,c]);
//   WHICH = 1 (target): grad[n,c] = -dloss[0] / N * (x[n,c] - lse[n]).
// Bindings: 0 logits, 1 target (act_t), 2 stats [N, 2], 3 dloss [1] (float), 4 grad (act_t).  Specialization: 0 CLASSES (uint), 1 WHICH (uint).
// Push: count (N * CLASSES), rows (N).  Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const uint CLASSES = 1;
layout(constant_id = 1) const uint WHICH = 0;
layout(std430, binding = 0) readonly buffer X { act_t logits[]; };
layout(std430, binding = 1) readonly buffer Tg { act_t target[]; };
layout(std430, binding = 2) readonly buffer S { float stats[]; };
layout(std430, binding = 3) readonly buffer DL { float dloss[]; };
layout(std430, binding = 4) writeonly buffer G { act_t grad[]; };
layout(push_constant) uniform P { uint count; uint rows; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    uint n = i / CLASSES;
    float scale = dloss[0] / float(p.rows);
    float lse = stats[2 * n];
    if (WHICH == 0) grad[i] = act_t(scale * (exp(float(logits[i]) - lse) * stats[2 * n + 1] - float(target[i])));
    else grad[i] = act_t(-scale * (float(logits[i]) - lse));
}
