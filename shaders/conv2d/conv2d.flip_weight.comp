#version 450
// The weight of a convolution's input gradient read as a forward convolution: for a stride-1 layer
// (Conv2dInputGradFlipped) w' [Cin, Cout/groups, KH, KW] with w'[g * CinG + c, o, ky, kx] = w[g * CoutG + o, c, KH - 1 - ky,
// KW - 1 - kx] (channels of each group swapped, kernel turned by 180 degrees); for one output phase of a strided layer
// (Conv2dInputGradPhases, groups of 1) its NY x NX taps (K0Y + m SY, K0X + n SX), turned the same way:
// w' [Cin, Cout, NY, NX] with w'[c, o, jy, jx] = w[o, c, K0Y + (NY - 1 - jy) SY, K0X + (NX - 1 - jx) SX]
// (the whole kernel: K0 = 0, S = 1, N = K, the defaults).
// Bindings: 0 w [Cout, Cin/groups, KH, KW]  1 w' [Cin, Cout/groups, NY, NX]
// Specialization: 0 KH, 1 KW, 2 GROUPS, 3 CIN, 4 COUT, 5 K0Y, 6 K0X, 7 SY, 8 SX, 9 NY, 10 NX (0: KH, KW)
// Push constants: count (= Cin * Cout/groups * NY * NX)
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256; one invocation per element of w'
#include "kiln.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int GROUPS = 1;
layout(constant_id = 3) const int CIN = 1;
layout(constant_id = 4) const int COUT = 1;
layout(constant_id = 5) const int K0Y = 0;
layout(constant_id = 6) const int K0X = 0;
layout(constant_id = 7) const int SY = 1;
layout(constant_id = 8) const int SX = 1;
layout(constant_id = 9) const int S_NY = 0;
layout(constant_id = 10) const int S_NX = 0;

layout(std430, binding = 0) readonly buffer W { float w[]; };
layout(std430, binding = 1) writeonly buffer F { float flipped[]; };
layout(push_constant) uniform P { uint count; } p;

void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    const int NY = S_NY != 0 ? S_NY : KH, NX = S_NX != 0 ? S_NX : KW;
    const int cinG = CIN / GROUPS, coutG = COUT / GROUPS;
    const int jx = int(i) % NX, jy = (int(i) / NX) % NY;
    const int o = (int(i) / (NX * NY)) % coutG;
    const int ci = int(i) / (NX * NY * coutG);            // 0..CIN-1: the flipped weight's output channel
    const int g = ci / cinG, c = ci % cinG;
    flipped[i] = w[(((g * coutG + o) * cinG + c) * KH + K0Y + (NY - 1 - jy) * SY) * KW + K0X + (NX - 1 - jx) * SX];
}
