// The mask of the masked losses (masked.fwd, masked.den, masked.bwd). Declares binding MASK_BINDING (mask4 / mask,
// act_t); include after storage.glsl (and after split.glsl for kiln_mask_sum).
#ifndef KILN_MASKED_GLSL
#define KILN_MASKED_GLSL
layout(std430, binding = MASK_BINDING) readonly buffer M4 { act4_t mask4[]; };
layout(std430, binding = MASK_BINDING) readonly buffer M { act_t mask[]; };

// The mask's element for element i of the prediction: the same element (broadcast false), or, for a mask [N,1,...]
// broadcast over the channels, that item's element at i's position within its channel (inner elements a channel).
uint kiln_mask_index(uint i, bool broadcast, uint channels, uint inner)
{
    return broadcast ? (i / (channels * inner)) * inner + i % inner : i;
}

#ifdef KILN_SPLIT_GLSL
// The mask's sum (masked.fwd and masked.den add it in the same order, so the forward's denominator and the backward's
// have the same bits): workgroup g adds its chunk [g * mask_chunk, ...) of the mask as vec4s, like
// shaders/reduce/stream.glsl.
float kiln_mask_sum(uint mask_count, uint mask_chunk)
{
    uvec2 r = kiln_split_range(mask_count, mask_chunk);
    uint t = gl_LocalInvocationID.x;
    vec4 acc = vec4(0.0);
    uint whole = r.y / 4u;
    for (uint q = r.x / 4u + t; q < whole; q += REDUCE_SIZE) acc += vec4(mask4[q]);
    float s = (acc.x + acc.y) + (acc.z + acc.w);
    uint i = whole * 4u + t;
    if (t < 4u && i >= r.x && i < r.y) s += float(mask[i]);
    return s;
}
#endif
#endif
