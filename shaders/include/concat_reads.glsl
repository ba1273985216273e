// Shared by the convolution forward kernels' ".concat" variants (KILN_CONCAT_READS, shaders/Variants.props;
// engine/Layers/ConcatConv2d.cs, inference plans): the input is the channel concatenation of x (binding 0: its first
// C1 channels, at 1 / SC1 of the resolution) and x2 (binding 4: the rest, at 1 / SC2), each upsampled by nearest
// neighbour on the way in, so neither the concatenation nor an upsampled tensor is ever written. Include after x is
// declared (act_t x[]). Specialization: 20 C1, 21 SC1, 22 SC2.
#ifndef KILN_CONCAT_READS_GLSL
#define KILN_CONCAT_READS_GLSL
layout(constant_id = 20) const int C1 = 1;
layout(constant_id = 21) const int SC1 = 1;
layout(constant_id = 22) const int SC2 = 1;
layout(std430, binding = 4) readonly buffer X2 { act_t x2[]; };

// Channel c of image b at (iy, ix) inside the cin-channel, h x w concatenation.
act_t kiln_concat_read(int b, int c, int iy, int ix, int cin, int h, int w)
{
    if (c < C1) return x[((b * C1 + c) * (h / SC1) + iy / SC1) * (w / SC1) + ix / SC1];
    return x2[((b * (cin - C1) + c - C1) * (h / SC2) + iy / SC2) * (w / SC2) + ix / SC2];
}
#endif
