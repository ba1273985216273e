#version 450
// Weights of a decoder's 3x3, stride-1, padding-1 convolution by sub-pixel phase: w is its weight over a concatenation
// whose channels A0 .. A0 + CA - 1 are a tensor a upsampled 2x by nearest neighbour, and the others (from B0, CIN - CA of
// them) a tensor b as it is. FORM says which weight this pass writes, summing in f32 the 3x3 taps each of its taps takes
// (include/subpixel.glsl):
// FORM 2, the forward (Conv2dDirectSubPixel, conv2d.fwd_subpixel.comp): at an output pixel of phase (py, px) the 3x3
// taps over a fall on 2x2 pixels of it, tap ty taking the ky with kiln_subpixel_tap(py, ky) = ty (the same along x):
//   wf[o, c, py 2 + px, ty, tx] = sum of w[o, A0 + c, ky, kx] over those ky, kx   ([COUT, CA, 4, 2, 2]), then
//   wf[COUT CA 16 + (o, c, k)] = w[o, B0 + c, k]                                      ([COUT, CB, 3, 3]).
// FORM 1, a's input gradient (SubPixelGradients.EmitInputs): a stride-2, padding-1 convolution of dY with 4x4 taps,
//   wl[c, o, my, mx] = sum of w[o, A0 + c, ky, kx] over kiln_subpixel_grad_tap(my, ky) and kiln_subpixel_grad_tap(mx, kx);
//   wl [CA, COUT, 4, 4].
// FORM 0, b's input gradient: the stride-1 one over its channels, the kernel turned and the channels swapped:
//   ws[c, o, ky, kx] = w[o, B0 + c, 2 - ky, 2 - kx]; ws [CIN - CA, COUT, 3, 3].
// Bindings: 0 w [COUT, CIN, 3, 3] (float)  1 the weight written (float)
// Specialization: 0 FORM, 1 CIN, 2 COUT, 3 A0, 4 CA
// Push constants: count (the elements written)
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256; one invocation per element written
#include "kiln.glsl"
#include "elementwise.glsl"
#include "subpixel.glsl"

layout(constant_id = 0) const int FORM = 1;
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
    const int B0 = A0 == 0 ? CA : 0;
    if (FORM == 2)
    {
        const int aWeights = COUT * CA * 16;
        if (int(i) >= aWeights)
        {
            const int r = int(i) - aWeights, k = r % 9, c = (r / 9) % (CIN - CA), o = r / (9 * (CIN - CA));
            derived[i] = w[(o * CIN + B0 + c) * 9 + k];
            return;
        }
        const int t = int(i) % 16, c = (int(i) / 16) % CA, o = int(i) / (16 * CA);
        const int py = t / 8, px = (t / 4) % 2, ty = (t / 2) % 2, tx = t % 2;
        float sum = 0.0;
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
                if (kiln_subpixel_tap(py, ky) == ty && kiln_subpixel_tap(px, kx) == tx) sum += w[(o * CIN + A0 + c) * 9 + ky * 3 + kx];
        derived[i] = sum;
        return;
    }
    const int taps = FORM == 1 ? 4 : 3;
    const int mx = int(i) % taps, my = (int(i) / taps) % taps;
    const int o = (int(i) / (taps * taps)) % COUT, c = int(i) / (taps * taps * COUT);
    if (FORM == 0)
    {
        derived[i] = w[((o * CIN + B0 + c) * 3 + 2 - my) * 3 + 2 - mx];
        return;
    }
    float sum = 0.0;
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
            if (kiln_subpixel_grad_tap(my, ky) && kiln_subpixel_grad_tap(mx, kx)) sum += w[((o * CIN + A0 + c) * 3 + ky) * 3 + kx];
    derived[i] = sum;
}
