#version 450
// A convolution's f32 weight rounded to f16 and laid out for the patch kernel's tensor-core loads
// (conv2d.fwd_coopmat_patch.comp, Conv2dCoopMatPatch): wp [KH*KW, COP, CIP] with
//   wp[(t * COP + co) * CIP + ci] = f16(w[(co * CIN + ci) * KH*KW + t])  for co < COUT and ci < CIN, else 0,
// so that the S x S block of output channels co0.. and input channels ci0.. of tap t is one row-major matrix at
// (t * COP + co0) * CIP + ci0 with stride CIP (a multiple of 16: 16-byte aligned rows), and the zero rows and columns
// pad Cout and Cin to the kernel's tiles. With FLIP, w is the weight [CIN, COUT, KH0, KW0] of a convolution whose input
// gradient the kernel computes as a forward convolution of dY (channels swapped), and the packed kernel is its
// NY x NX sub-kernel of taps (K0Y + m SY, K0X + n SX), turned by 180 degrees:
//   wp[(t * COP + co) * CIP + ci] = f16(w[(ci * COUT + co) * KH0*KW0 + (K0Y + (NY-1-jy) SY) * KW0 + K0X + (NX-1-jx) SX]),
// t = jy * NX + jx (groups of 1): for a stride-1 layer the whole kernel (K0 = 0, S = 1, N = K: Conv2dInputGradFlipped),
// for a strided one the taps of one output phase (Conv2dInputGradCoopMatStrided). The flipped weight is never written
// on its own. With FLIP and PHASES = P > 0, every output phase's taps of a strided layer, one phase after the other
// ([P * NY*NX, COP, CIP], t = phase * NY*NX + jy * NX + jx), each phase's first taps K0Y, K0X derived from the layer's
// stride, dilation and padding (specialization 13..18, include/phases.glsl): what the patch kernel's and
// cooperative_matrix2's .phases variants read, every phase of NY x NX taps, the largest phase's (a phase with fewer, as a
// 3x3 stride-2 layer's have, has zeros for the taps it lacks).
// With SUBPIXEL, w is a 3x3 convolution's weight over a concatenation whose channels A0 .. A0 + CA - 1 are upsampled 2x
// by nearest neighbour, and wp is what the .subpixel variants of conv2d.fwd_coopmat2 and conv2d.fwd_coopmat_patch read,
// [16 + 9, COP, CIP]: for phase
// (py, px) and tap (ty, tx) of the small tensor, t = (py 2 + px) 4 + ty 2 + tx < 16,
//   wp[(t * COP + co) * CIP + ci] = f16(sum over ky, kx with kiln_subpixel_tap(py, ky) = ty, kiln_subpixel_tap(px, kx) = tx
//                                       of w[(co * CIN + A0 + ci) * 9 + ky * 3 + kx])   (ci < CA; summed in f32)
// (include/subpixel.glsl), then for t = 16 + k the
// other input's channels as they are, wp[(t * COP + co) * CIP + ci] = f16(w[(co * CIN + B0 + ci) * 9 + k]) (ci < CIN - CA,
// B0 the first of them).
// Bindings: 0 w [COUT, CIN, KH, KW], or [CIN, COUT, KH0, KW0] with FLIP (float)  1 wp [KH*KW, COP, CIP] (float16_t)
// Specialization: 0 FLIP, 1 KH0, 2 KW0, 3 K0Y, 4 K0X, 5 SY, 6 SX, 7 NY, 8 NX (FLIP only), 9 SUBPIXEL, 10 A0, 11 CA
//                 (SUBPIXEL only), 12 PHASES, 13 LSH, 14 LSW, 15 LDH, 16 LDW, 17 LPH, 18 LPW (FLIP with PHASES: the
//                 layer's stride, dilation and padding)
// Push constants: count (= KH*KW * COP * CIP; SUBPIXEL: 25 * COP * CIP; PHASES: P * NY*NX * COP * CIP), cout, cin,
//                 taps (KH*KW), cop, cip
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256; one invocation per element of wp
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "kiln.glsl"
#include "elementwise.glsl"
#include "subpixel.glsl"
#include "phases.glsl"

layout(constant_id = 0) const int FLIP = 0;
layout(constant_id = 1) const int KH0 = 1;
layout(constant_id = 2) const int KW0 = 1;
layout(constant_id = 3) const int K0Y = 0;
layout(constant_id = 4) const int K0X = 0;
layout(constant_id = 5) const int SY = 1;
layout(constant_id = 6) const int SX = 1;
layout(constant_id = 7) const int NY = 1;
layout(constant_id = 8) const int NX = 1;
layout(constant_id = 9) const int SUBPIXEL = 0;
layout(constant_id = 10) const int A0 = 0;
layout(constant_id = 11) const int CA = 0;
layout(constant_id = 12) const int PHASES = 0;
layout(constant_id = 13) const int LSH = 1;
layout(constant_id = 14) const int LSW = 1;
layout(constant_id = 15) const int LDH = 1;
layout(constant_id = 16) const int LDW = 1;
layout(constant_id = 17) const int LPH = 0;
layout(constant_id = 18) const int LPW = 0;
layout(std430, binding = 0) readonly buffer W { float w[]; };
layout(std430, binding = 1) writeonly buffer Wp { float16_t wp[]; };
layout(push_constant) uniform P { uint count; int cout, cin, taps, cop, cip; } p;

void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    const int ci = int(i) % p.cip, co = (int(i) / p.cip) % p.cop, t = int(i) / (p.cip * p.cop);
    if (SUBPIXEL != 0)
    {
        float v = 0.0;
        if (t < 16 && co < p.cout && ci < CA)
        {
            const int py = t / 8, px = (t / 4) % 2, ty = (t / 2) % 2, tx = t % 2;
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                    if (kiln_subpixel_tap(py, ky) == ty && kiln_subpixel_tap(px, kx) == tx) v += w[(co * p.cin + A0 + ci) * 9 + ky * 3 + kx];
        }
        else if (t >= 16 && co < p.cout && ci < p.cin - CA)
            v = w[(co * p.cin + (A0 == 0 ? CA : 0) + ci) * 9 + t - 16];
        wp[i] = float16_t(v);
        return;
    }
    bool inside = co < p.cout && ci < p.cin;
    const int jy = t % (NY * NX) / NX, jx = t % NX;
    int k0y = K0Y, k0x = K0X;
    if (PHASES != 0)
    {
        // NY x NX is the largest phase's taps: a phase with fewer (none along an axis, or a tap past the kernel) gets zeros.
        const int phase = t / (NY * NX);
        const KilnPhaseAxis ay = kiln_phase_axis(phase / LSW, LSH, LDH, LPH, KH0, 0), ax = kiln_phase_axis(phase % LSW, LSW, LDW, LPW, KW0, 0);
        k0y = ay.k0;
        k0x = ax.k0;
        inside = inside && ay.n > 0 && ax.n > 0 && k0y + (NY - 1 - jy) * SY < KH0 && k0x + (NX - 1 - jx) * SX < KW0;
    }
    const int at = FLIP != 0 ? (ci * p.cout + co) * KH0 * KW0 + (k0y + (NY - 1 - jy) * SY) * KW0 + k0x + (NX - 1 - jx) * SX
                             : (co * p.cin + ci) * p.taps + t;
    wp[i] = float16_t(inside ? w[at] : 0.0);
}
