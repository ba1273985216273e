// Shared by mlp.coopmat.fwd.comp and mlp.coopmat.bwd.comp (the fused MLP on tensor cores, MlpCoopMatKernels).
// S x S x S f16*f16+f32 subgroup matrices (S = PAD, include/mlp.glsl: 16 on NVIDIA, 8 on lavapipe); every width is
// padded with zeros to a multiple of S. A workgroup of NSG subgroups of SGS invocations works on blocks of
// ROWS = NSG * TR * S rows; subgroup sg owns the block's rows sg * RS .. (RS = TR * S) wherever a pass is per row.
// Every shared matrix is f16, row-major, LD = 72 elements a row (144 bytes: 16-byte aligned rows whose starts
// fall on different banks). Include after mlp.glsl with MLP_PARAM_BASE defined, and after the cooperative-matrix
// and f16 extensions.
#ifndef KILN_MLP_COOPMAT_GLSL
#define KILN_MLP_COOPMAT_GLSL
#define S PAD
#define TR 2        // S-row tiles per subgroup
#define NT_MAX 8    // S-wide tiles of a padded width, at most (64 / 8)

layout(constant_id = 21) const int SGS = 32;
layout(constant_id = 22) const int NSG = 4;

const int RS = TR * S, ROWS = NSG * RS, THREADS = NSG * SGS;
const int LD = MLP_MAX_WIDTH + 8;

shared float16_t Ws[MLP_MAX_WIDTH * LD];    // a layer's weight [unit][input], zeros past the real widths

// Stages layer l's weight into Ws (rows to its padded output width, columns to its padded input width); l must be
// a constant once specialized (an unrolled layer loop), so the slot's switch folds away.
#define MC_STAGE_CASE(slot) case slot: for (int e = int(gl_LocalInvocationIndex); e < rows_ * cols_; e += THREADS) { \
    int j = e / cols_, k = e % cols_; Ws[j * LD + k] = float16_t(j < fout_ && k < fin_ ? mlp_p##slot.v[j * fin_ + k] : 0.0); } break;
#define MC_STAGE_W(l) { int fin_ = mlp_width(l), fout_ = mlp_width((l) + 1), rows_ = mlp_padded((l) + 1), cols_ = mlp_padded(l); \
    switch (2 * (l)) { MC_STAGE_CASE(0) MC_STAGE_CASE(2) MC_STAGE_CASE(4) MC_STAGE_CASE(6) MC_STAGE_CASE(8) MC_STAGE_CASE(10) \
    MC_STAGE_CASE(12) default: MC_STAGE_CASE(14) } }
#endif
