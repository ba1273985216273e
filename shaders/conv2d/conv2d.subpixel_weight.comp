#version 450
// The weights of a decoder convolution's input gradients without the concatenation's gradient (SubPixelInputGrad): w is
// a 3x3, stride-1, padding-1 convolution's weight over a concatenation whose channels A0 .. A0 + CA - 1 are a tensor a
// upsampled 2x by nearest neighbour, and the others (from B0, CIN - CA of them) a tensor b as it is.
// LOW = 1: a's gradient is a stride-2, padding-1 convolution of dY with 4x4 taps. A pixel i of a (along an axis) took
// the full-resolution pixels 2i and 2i + 1, which the kernel's taps k carried to dY at 2i + d + 1 - k (d = 0, 1): dY at
// 2i - 1 + m for m = d - k + 2, so
//   wl[c, o, my, mx] = sum of w[o, A0 + c, ky, kx] over ky in K(my), kx in K(mx),  K(m) = { k : m + k - 2 in {0, 1} }
//   (K(0) = {2}, K(1) = {1, 2}, K(2) = {0, 1}, K(3) = {0}), summed in f32; wl [CA, COUT, 4, 4].
// LOW = 0: b's gradient is the stride-1 one over its channels, the kernel turned and the channels swapped:
//   ws[c, o, ky, kx] = w[o, B0 + c, 2 - ky, 2 - kx]; ws [CIN - CA, COUT, 3, 3].
// Bindings: 0 w [COUT, CIN, 3, 3] (float)  1 wl or ws (float)
// Specialization: 0 LOW, 1 CIN, 2 COUT, 3 A0, 4 CA
// Push constants: count (the elements of wl or ws)
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256; one invocation per element written
#include "kiln.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const int LOW = 1;
layout(constant_id = 1) const int CIN = 1;
layout(constant_id = 2) const int COUT = 1;
layout(constant_id = 3) const int A0 = 0;
layout(constant_id = 4) const int CA = 1;

layout(std430, binding = 0) readonly buffer W { float w[]; };
layout(std430, binding = 1) writeonly buffer D { float derived[]; };
layout(push_constant) uniform P { uint count; } p;

void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    const int taps = LOW != 0 ? 4 : 3;
    const int mx = int(i) % taps, my = (int(i) / taps) % taps;
    const int o = (int(i) / (taps * taps)) % COUT, c = int(i) / (taps * taps * COUT);
    if (LOW == 0)
    {
        derived[i] = w[((o * CIN + (A0 == 0 ? CA : 0) + c) * 3 + 2 - my) * 3 + 2 - mx];
        return;
    }
    float sum = 0.0;
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
            if (uint(my + ky - 2) <= 1u && uint(mx + kx - 2) <= 1u) sum += w[((o * CIN + A0 + c) * 3 + ky) * 3 + kx];
    derived[i] = sum;
}
