#version 450
// A decoder convolution's weight gradient from its sub-pixel parts (SubPixelGradients.EmitWeight): dw [COUT, CIN, 3, 3] of
// a 3x3, stride-1, padding-1 convolution over a concatenation whose channels A0 .. A0 + CA - 1 are a tensor a upsampled
// 2x by nearest neighbour (the others, from B0, a tensor b as it is), from
//   dwl [CA, COUT, 4, 4]: dwl[c, o, my, mx] = sum over images and pixels (i, j) of a of
//                         a[c, i, j] dY[o, 2i - 1 + my, 2j - 1 + mx]
//     (the weight gradient of the stride-2, padding-1, 4x4 convolution that carries dY to a's gradient, a in the place of
//     its output gradient: 16 products per pixel of a where the 3x3 over the upsampled tensor takes 36), and
//   dws [COUT, CIN - CA, 3, 3]: the plain weight gradient over b's channels.
// The 3x3 weight w[o, A0 + c, ky, kx] is in the 4x4 taps my with kiln_subpixel_grad_tap(my, ky) (include/subpixel.glsl;
// my = 2 - ky, 3 - ky) and mx likewise, so
//   dw[o, A0 + c, ky, kx] = sum over those my, mx of dwl[c, o, my, mx]  (in f32),
//   dw[o, B0 + c, ky, kx] = dws[o, c, ky, kx].
// Bindings: 0 dwl (float)  1 dws (float)  2 dw (float)
// Specialization: 0 CIN, 1 COUT, 2 A0, 3 CA
// Push constants: count (= COUT * CIN * 9)
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256; one invocation per element of dw
#include "kiln.glsl"
#include "elementwise.glsl"
#include "subpixel.glsl"

layout(constant_id = 0) const int CIN = 1;
layout(constant_id = 1) const int COUT = 1;
layout(constant_id = 2) const int A0 = 0;
layout(constant_id = 3) const int CA = 1;

layout(std430, binding = 0) readonly buffer L { float dwl[]; };
layout(std430, binding = 1) readonly buffer S { float dws[]; };
layout(std430, binding = 2) writeonly buffer D { float dw[]; };
layout(push_constant) uniform P { uint count; } p;

void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    const int kx = int(i) % 3, ky = (int(i) / 3) % 3, ci = (int(i) / 9) % CIN, o = int(i) / (9 * CIN);
    const int c = ci - A0;
    if (c < 0 || c >= CA)
    {
        const int cb = CIN - CA, B0 = A0 == 0 ? CA : 0;
        dw[i] = dws[((o * cb + ci - B0) * 3 + ky) * 3 + kx];
        return;
    }
    float sum = 0.0;
    for (int my = 0; my < 4; my++)
        for (int mx = 0; mx < 4; mx++)
            if (kiln_subpixel_grad_tap(my, ky) && kiln_subpixel_grad_tap(mx, kx)) sum += dwl[((c * COUT + o) * 4 + my) * 4 + mx];
    dw[i] = sum;
}
