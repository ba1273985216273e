// Shared by shaders/mlp/mlp.coopmat.*.comp (the fused MLP on tensor cores, MlpCoopMatKernels): S x S x S
// f16*f16+f32 subgroup matrices (S = PAD of include/mlp.glsl: 16 on NVIDIA, 8 on Mesa 26's lavapipe), every width
// padded with zeros to a multiple of S (P(i) = mlp_padded(i)). The buffers the kernels pass each other, all padded:
//   wh  the weights as f16, layer l [P(l + 1), P(l)] row-major from mc_weight_offset(l) (mlp.pack_f16);
//   bt  the biases as f32 tiles, layer l [S, P(l + 1)] (S equal rows: an accumulator's start) from mc_bias_offset(l);
//   h   per row, every layer's input as f16: x, then each hidden layer's activated output, layer l's from
//       mc_input_offset(l), HP = mc_input_offset(L) a row (mlp.coopmat.fwd when training);
//   d   per row, every layer's delta (the loss's gradient at its pre-activation) as f16, layer l's from
//       mc_delta_offset(l), DP = mc_delta_offset(L) a row (mlp.coopmat.bwd).
// h and d have their rows rounded up to a multiple of ROWS; the rows past the batch hold finite values in h and zeros
// in d, so they add nothing to the weight gradients (mlp.coopmat.dw).
// The forward and the deltas work on blocks of ROWS = RT * S rows, kept in shared memory as f16 from layer to layer
// (LD = 72 elements a row: 16-byte aligned rows whose starts fall on different banks). A workgroup has NSG subgroups of
// SGS invocations; in each layer subgroup sg computes the result's column tiles sg, sg + NSG, ... (at most CT_MAX) for
// all RT row tiles, holding that column's weight tiles in registers. Include after mlp.glsl and the cooperative-matrix
// and f16 extensions.
#ifndef KILN_MLP_COOPMAT_GLSL
#define KILN_MLP_COOPMAT_GLSL
#define S PAD
#define RT 8        // S-row tiles of a block
#define NT_MAX 8    // S-wide tiles of a padded width, at most (64 / 8)
#define CT_MAX 2    // column tiles of one subgroup in a layer, at most (NSG * CT_MAX * S >= 64: MlpCoopMatKernels.Supports)

layout(constant_id = 21) const int SGS = 32;
layout(constant_id = 22) const int NSG = 4;

const int ROWS = RT * S, THREADS = NSG * SGS;
const int LD = MLP_MAX_WIDTH + 8;

int mc_weight_offset(int l)
{
    int o = 0;
    for (int i = 0; i < l; i++) o += mlp_padded(i + 1) * mlp_padded(i);
    return o;
}

int mc_bias_offset(int l)
{
    int o = 0;
    for (int i = 0; i < l; i++) o += S * mlp_padded(i + 1);
    return o;
}

int mc_input_offset(int l)
{
    int o = 0;
    for (int i = 0; i < l; i++) o += mlp_padded(i);
    return o;
}

int mc_delta_offset(int l)
{
    int o = 0;
    for (int i = 0; i < l; i++) o += mlp_padded(i + 1);
    return o;
}
#endif
