// Dropout's keep mask, shared by the forward and backward kernels (and mirrored by the tests' RefDropout):
// h = mix(mix(k ^ i) ^ k) with k = mix(mix(seed) ^ step), mix = Wellons' lowbias32; element i is kept when
// (h >> 8) >= THRESHOLD, THRESHOLD = round(p * 2^24), so it is dropped with probability p.
#ifndef KILN_DROPOUT_GLSL
#define KILN_DROPOUT_GLSL
uint kiln_mix32(uint x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}
bool kiln_dropout_keep(uint seed, uint step, uint i, uint threshold)
{
    const uint k = kiln_mix32(kiln_mix32(seed) ^ step);
    const uint h = kiln_mix32(kiln_mix32(k ^ i) ^ k);
    return (h >> 8) >= threshold;
}
#endif
