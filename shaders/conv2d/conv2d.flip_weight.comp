#version 450
// The weight of a stride-1 convolution's input gradient read as a forward convolution (Conv2dInputGradFlipped):
// w' [Cin, Cout/groups, KH, KW] with w'[g * CinG + c, o, ky, kx] = w[g * CoutG + o, c, KH - 1 - ky, KW - 1 - kx]
// (channels of each group swapped, kernel turned by 180 degrees).
// Bindings: 0 w [Cout, Cin/groups, KH, KW]  1 w' [Cin, Cout/groups, KH, KW]
// Specialization: 0 KH, 1 KW, 2 GROUPS, 3 CIN, 4 COUT
// Push constants: count (= Cout * Cin/groups * KH * KW)
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256; one invocation per element of w'
#include "kiln.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const int KH = 3;
layout(constant_id = 1) const int KW = 3;
layout(constant_id = 2) const int GROUPS = 1;
layout(constant_id = 3) const int CIN = 1;
layout(constant_id = 4) const int COUT = 1;

layout(std430, binding = 0) readonly buffer W { float w[]; };
layout(std430, binding = 1) writeonly buffer F { float flipped[]; };
layout(push_constant) uniform P { uint count; } p;

void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    const int cinG = CIN / GROUPS, coutG = COUT / GROUPS;
    const int kx = int(i) % KW, ky = (int(i) / KW) % KH;
    const int o = (int(i) / (KW * KH)) % coutG;
    const int ci = int(i) / (KW * KH * coutG);            // 0..CIN-1: the flipped weight's output channel
    const int g = ci / cinG, c = ci % cinG;
    flipped[i] = w[(((g * coutG + o) * cinG + c) * KH + (KH - 1 - ky)) * KW + (KW - 1 - kx)];
}
