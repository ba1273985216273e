#version 450
// The weight of a convolution's input gradient read as a forward convolution: for a stride-1 layer
// (Conv2dInputGradFlipped) w' [Cin, Cout/groups, KH, KW] with w'[g * CinG + c, o, ky, kx] = w[g * CoutG + o, c, KH - 1 - ky,
// KW - 1 - kx] (channels of each group swapped, kernel turned by 180 degrees); for one output phase of a strided layer
// (groups of 1) its NY x NX taps (K0Y + m SY, K0X + n SX), turned the same way:
// w' [Cin, Cout, NY, NX] with w'[c, o, jy, jx] = w[o, c, K0Y + (NY - 1 - jy) SY, K0X + (NX - 1 - jx) SX]
// (the whole kernel: K0 = 0, S = 1, N = K, the defaults). With PHASES, every phase of the layer of strides PSH x PSW,
// paddings PPH, PPW and dilations PDH, PDW (include/phases.glsl) in turn, row-major by phase, each phase's w' after the
// last (a phase without taps takes none): the weight of conv2d.fwd_gemm's .phases variant (Conv2dInputGradPhases).
// Bindings: 0 w [Cout, Cin/groups, KH, KW]  1 w' [Cin, Cout/groups, NY, NX] (PHASES: the phases' one after the other)
// Specialization: 0 KH, 1 KW, 2 GROUPS, 3 CIN, 4 COUT, 5 K0Y, 6 K0X, 7 SY, 8 SX, 9 NY, 10 NX (0: KH, KW),
//                 11 PHASES, 12 PSH, 13 PSW, 14 PPH, 15 PPW, 16 PDH, 17 PDW (PHASES only)
// Push constants: count (= the elements of w')
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256; one invocation per element of w'
#include "kiln.glsl"
#include "elementwise.glsl"
#include "phases.glsl"

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
layout(constant_id = 11) const int PHASES = 0;
layout(constant_id = 12) const int PSH = 1;
layout(constant_id = 13) const int PSW = 1;
layout(constant_id = 14) const int PPH = 0;
layout(constant_id = 15) const int PPW = 0;
layout(constant_id = 16) const int PDH = 1;
layout(constant_id = 17) const int PDW = 1;

layout(std430, binding = 0) readonly buffer W { float w[]; };
layout(std430, binding = 1) writeonly buffer F { float flipped[]; };
layout(push_constant) uniform P { uint count; } p;

void main()
{
    const uint index = kiln_element_index();
    if (index >= p.count) return;
    int i = int(index);
    int k0y = K0Y, k0x = K0X, sy = SY, sx = SX, ny = S_NY != 0 ? S_NY : KH, nx = S_NX != 0 ? S_NX : KW;
    if (PHASES != 0)
    {
        // The phase this element's w' belongs to, and its index within it.
        for (int z = 0; z < PSH * PSW; z++)
        {
            const KilnPhaseAxis ay = kiln_phase_axis(z / PSW, PSH, PDH, PPH, KH, PSH), ax = kiln_phase_axis(z % PSW, PSW, PDW, PPW, KW, PSW);
            const int size = CIN * COUT * ay.n * ax.n;
            if (i < size)
            {
                k0y = ay.k0; k0x = ax.k0; sy = ay.step; sx = ax.step; ny = ay.n; nx = ax.n;
                break;
            }
            i -= size;
        }
    }
    const int cinG = CIN / GROUPS, coutG = COUT / GROUPS;
    const int jx = i % nx, jy = (i / nx) % ny;
    const int o = (i / (nx * ny)) % coutG;
    const int ci = i / (nx * ny * coutG);                 // 0..CIN-1: the flipped weight's output channel
    const int g = ci / cinG, c = ci % cinG;
    flipped[index] = w[(((g * coutG + o) * cinG + c) * KH + k0y + (ny - 1 - jy) * sy) * KW + k0x + (nx - 1 - jx) * sx];
}
