// The vec4 stream of a split reduction over count elements (include after split.glsl): invocation t of workgroup g adds
// kiln_term4(q) for the vec4s q = (begin / 4) + t, + REDUCE_SIZE, ... of its chunk (consecutive invocations read
// consecutive 16 bytes: coalesced), the four lanes pairwise, then the 0-3 elements past the last whole vec4 (only in
// the last chunk) one per invocation through kiln_term(i).
// Define before including: vec4 kiln_term4(uint q) (elements 4q..4q+3) and float kiln_term(uint i).
// Bindings read as vec4 must start 16-byte aligned (MemoryPlanner aligns every value to 256 bytes).
#ifndef KILN_STREAM_GLSL
#define KILN_STREAM_GLSL
float kiln_stream_sum(uint count, uint chunk)
{
    uvec2 r = kiln_split_range(count, chunk);
    uint t = gl_LocalInvocationID.x;
    vec4 acc = vec4(0.0);
    uint whole = r.y / 4u; // vec4s wholly below the end (begin is a multiple of 4)
    for (uint q = r.x / 4u + t; q < whole; q += REDUCE_SIZE) acc += kiln_term4(q);
    float s = (acc.x + acc.y) + (acc.z + acc.w);
    uint i = whole * 4u + t;
    if (t < 4u && i >= r.x && i < r.y) s += kiln_term(i);
    return s;
}
#endif
