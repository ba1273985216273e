#version 450
// Denominator of the masked losses for their backward: den = max(DIVISOR * sum(mask), 1) (FINISH 2, DIVISOR the number
// of channels the mask is broadcast over, 1 when it has the prediction's shape). The same split and order of summation
// as masked.fwd (shaders/loss/masked.glsl, the same groups and mask_chunk), so the same bits as the forward's.
// Bindings: 0 mask (act_t), 1 result (float) (den [1] when one workgroup runs, else partials [groups]).
// Specialization: 0 FINISH, 1 DIVISOR (shaders/reduce/finish.glsl).  Push: mask_count, mask_chunk.
// Dispatch: groups x 1 x 1 (engine/Layers/Loss/LossReduction.cs), local x = 256.
#include "kiln.glsl"
#include "storage.glsl"
#define SPLIT_BINDING 1
#define SPLIT_WIDTH 1
#include "../reduce/split.glsl"
#define MASK_BINDING 0
#include "masked.glsl"
layout(push_constant) uniform P { uint mask_count, mask_chunk; } p;
void main()
{
    kiln_split_store(vec2(kiln_mask_sum(p.mask_count, p.mask_chunk), 0.0));
}
