// The sub-pixel decomposition of a 3x3, stride-1, padding-1 convolution over a tensor upsampled 2x by nearest neighbour
// (engine/Layers/Conv/Conv2dCoopMat2SubPixel.cs, Conv2dDirectSubPixel.cs, SubPixelGradients.cs), along one axis:
// - forward: at output pixel 2i + p (phase p) the 3x3 tap k reads pixel i + t + p - 1 of the small tensor, t the 2x2
//   tap kiln_subpixel_tap(p, k): t = 0 takes k = 0 at p = 0 and k in {0, 1} at p = 1, t = 1 the others;
// - gradients: pixel i of the small tensor took full-resolution pixels 2i and 2i + 1, which the taps k carried to dY at
//   2i - 1 + m (m = 0..3) for m + k - 2 in {0, 1} (kiln_subpixel_grad_tap): m = 0 takes k = 2, m = 1 {1, 2},
//   m = 2 {0, 1}, m = 3 k = 0.
// A derived weight sums the 3x3 taps each of its taps takes.
#ifndef KILN_SUBPIXEL_GLSL
#define KILN_SUBPIXEL_GLSL
// The 2x2 tap of output phase p that the 3x3 tap k falls on.
int kiln_subpixel_tap(int p, int k) { return (p + k + 1) / 2 - p; }
// Whether the 3x3 tap k is in the gradients' 4x4 tap m.
bool kiln_subpixel_grad_tap(int m, int k) { return uint(m + k - 2) <= 1u; }
#endif
