// Shared by the convolution kernels' ".concat" variants (KILN_CONCAT_READS, shaders/Variants.props;
// engine/Layers/ConcatConv2d.cs): the input (the forward's, the weight gradient's shifted operand) is the channel
// concatenation of x (its first C1 channels, at 1 / SC1 of the resolution) and x2 (the rest, at 1 / SC2), each upsampled
// by nearest neighbour on the way in, so neither the concatenation nor an upsampled tensor is ever written. Include
// after x is declared (act_t x[]; another name: define KILN_CONCAT_X to it first); x2 is bound at 4 (another binding:
// define KILN_CONCAT_BINDING). Specialization: 20 C1, 21 SC1, 22 SC2. Both in the layout of KILN_ACT_INDEX (storage.glsl).
#ifndef KILN_CONCAT_READS_GLSL
#define KILN_CONCAT_READS_GLSL
layout(constant_id = 20) const int C1 = 1;
layout(constant_id = 21) const int SC1 = 1;
layout(constant_id = 22) const int SC2 = 1;
#ifndef KILN_CONCAT_X
#define KILN_CONCAT_X x
#endif
#ifndef KILN_CONCAT_BINDING
#define KILN_CONCAT_BINDING 4
#endif
layout(std430, binding = KILN_CONCAT_BINDING) readonly buffer X2 { act_t x2[]; };

// Channel c of image b at (iy, ix) inside the cin-channel, h x w concatenation.
act_t kiln_concat_read(int b, int c, int iy, int ix, int cin, int h, int w)
{
    if (c < C1) return KILN_CONCAT_X[KILN_ACT_INDEX(b, c, iy / SC1, ix / SC1, C1, h / SC1, w / SC1)];
    return x2[KILN_ACT_INDEX(b, c - C1, iy / SC2, ix / SC2, cin - C1, h / SC2, w / SC2)];
}
#endif
