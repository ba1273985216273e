// The shared part of the pair losses' backward kernels (loss/mse.bwd, l1.bwd, huber.bwd, bce.bwd): their bindings, and
// main, which writes each element's gradient through the kernel's own element(prediction, target) (declared here,
// defined after the include), four elements an invocation through 4-wide views of the bindings (include/elementwise.glsl's
// vector kernels), the tail one at a time.
// Bindings: 0 prediction (or logits), 1 target (act_t), 2 dloss [1] (float), 3 grad (act_t).  Push: count.
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#ifndef KILN_LOSS_PAIR_BWD_GLSL
#define KILN_LOSS_PAIR_BWD_GLSL
layout(std430, binding = 0) readonly buffer Pr { act_t pred[]; };
layout(std430, binding = 0) readonly buffer Pr4 { act4_t pred4[]; };
layout(std430, binding = 1) readonly buffer Tg { act_t target[]; };
layout(std430, binding = 1) readonly buffer Tg4 { act4_t target4[]; };
layout(std430, binding = 2) readonly buffer DL { float dloss[]; };
layout(std430, binding = 3) writeonly buffer G { act_t grad[]; };
layout(std430, binding = 3) writeonly buffer G4 { act4_t grad4[]; };
layout(push_constant) uniform P { uint count; } p;

float element(float prediction, float targetValue);

void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        const vec4 pv = vec4(pred4[i]), tv = vec4(target4[i]);
        grad4[i] = act4_t(element(pv.x, tv.x), element(pv.y, tv.y), element(pv.z, tv.z), element(pv.w, tv.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++) grad[k] = act_t(element(float(pred[k]), float(target[k])));
}
#endif
