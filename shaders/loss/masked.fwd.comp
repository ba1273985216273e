#version 450
// Masked mean loss: loss = sum(m * err) / max(sum(expanded m), 1), err = (p - t)^2 (KIND 0) or |p - t| (KIND 1)
// (FINISH 1, DIVISOR float(channels)). The mask is either the prediction's shape (BROADCAST 0) or [N,1,...] broadcast
// over the channels (BROADCAST 1, shaders/loss/masked.glsl's kiln_mask_index); the expanded mask sums to
// channels * sum(mask). A split reduction of two sums (shaders/reduce/split.glsl): workgroup g adds its chunk of the
// numerator's elements and its chunk of the mask (shaders/loss/masked.glsl), both read as vec4.
// Bindings: 0 prediction, 1 target, 2 mask (act_t), 3 result (float) (the loss [1] when one workgroup runs, else partials [groups, 2]).
// Specialization: 0 FINISH, 1 DIVISOR (shaders/reduce/finish.glsl), 2 KIND (0 mse, 1 l1), 3 BROADCAST (0/1).
// Push: count (prediction elements), chunk, mask_count, mask_chunk (multiples of 1024), channels, inner (elements per
// channel of one item).  Dispatch: groups x 1 x 1 (engine/Layers/Loss/LossReduction.cs), local x = 256.
#include "kiln.glsl"
#include "storage.glsl"
#define SPLIT_BINDING 3
#define SPLIT_WIDTH 2
#include "../reduce/split.glsl"
#define MASK_BINDING 2
#include "masked.glsl"
layout(constant_id = 2) const int KIND = 0;
layout(constant_id = 3) const int BROADCAST = 0;
layout(std430, binding = 0) readonly buffer A4 { act4_t pred4[]; };
layout(std430, binding = 0) readonly buffer A { act_t pred[]; };
layout(std430, binding = 1) readonly buffer B4 { act4_t target4[]; };
layout(std430, binding = 1) readonly buffer B { act_t target[]; };
layout(push_constant) uniform P { uint count, chunk, mask_count, mask_chunk, channels, inner; } p;
float mask_at(uint i)
{
    return float(mask[kiln_mask_index(i, BROADCAST != 0, p.channels, p.inner)]);
}
vec4 err4(vec4 d) { return KIND == 0 ? d * d : abs(d); }
vec4 kiln_term4(uint q)
{
    vec4 m = BROADCAST != 0 ? vec4(mask_at(4u * q), mask_at(4u * q + 1u), mask_at(4u * q + 2u), mask_at(4u * q + 3u)) : vec4(mask4[q]);
    return m * err4(vec4(pred4[q]) - vec4(target4[q]));
}
float kiln_term(uint i)
{
    float d = float(pred[i]) - float(target[i]);
    return mask_at(i) * (KIND == 0 ? d * d : abs(d));
}
#include "../reduce/stream.glsl"
void main()
{
    float num = kiln_stream_sum(p.count, p.chunk);
    kiln_split_store(vec2(num, kiln_mask_sum(p.mask_count, p.mask_chunk)));
}
