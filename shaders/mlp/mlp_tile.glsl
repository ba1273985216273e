// Shared by mlp.tile.fwd.comp and mlp.tile.bwd.comp (the GPU-oriented fused MLP, MlpTileKernels): a workgroup
// of 256 invocations works on tiles of 64 rows; every tensor in shared memory is a 64 x 64 float matrix padded
// with zeros past its real width, stored as 64 rows of 16 vec4 with the vec4 columns of each row permuted by
// an XOR swizzle (no padding: two such matrices are exactly 32 KiB). Each invocation computes 4 x 4 register
// blocks; the kernels' access patterns are, per subgroup of 32: (a) vec4 column c of rows v + 16 i for
// v = 0..15 (each 8 consecutive rows fall on 8 distinct vec4 bank groups: (r ^ (r >> 2)) & 7 is a permutation
// of 0..7 over them), (b) vec4 columns 0..15 of one row (any permutation), (c) two vec4 addresses (broadcast).
// So no access conflicts on 32 banks of 4 bytes.
#ifndef KILN_MLP_TILE_GLSL
#define KILN_MLP_TILE_GLSL
#define MT_ROWS 64u
#define MT_LOCAL 256u

shared vec4 mt_s0[1024];
shared vec4 mt_s1[1024];

uint mt_at(uint row, uint c4) { return row * 16u + (c4 ^ ((row ^ (row >> 2)) & 7u)); }

// Writes layer slot s's weight [fout, fin] into the shared matrix dst (row j = output unit, column k =
// input), zeros past fout rows and fin columns; coalesced reads, the slot chosen once outside the loop.
#define MT_STAGE_CASE(dst, slot) case slot: for (uint e = gl_LocalInvocationIndex; e < 4096u; e += MT_LOCAL) { \
    uint j = e >> 6, k = e & 63u; dst[mt_at(j, k >> 2)][k & 3u] = j < uint(fout_) && k < uint(fin_) ? mlp_p##slot.v[j * uint(fin_) + k] : 0.0; } break;
#define MT_STAGE_W(dst, s, fin, fout) { int fin_ = (fin), fout_ = (fout); switch (s) { \
    MT_STAGE_CASE(dst, 0) MT_STAGE_CASE(dst, 2) MT_STAGE_CASE(dst, 4) MT_STAGE_CASE(dst, 6) \
    MT_STAGE_CASE(dst, 8) MT_STAGE_CASE(dst, 10) MT_STAGE_CASE(dst, 12) default: MT_STAGE_CASE(dst, 14) } }
#endif
