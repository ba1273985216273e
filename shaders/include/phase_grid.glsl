// Shared by the tensor-core forwards' ".phases" variants (conv2d.fwd_coopmat_patch.comp, conv2d.fwd_coopmat2.comp;
// Conv2dInputGradCoopMatStrided): every output phase of a strided layer's input gradient (or of a strided transposed
// convolution) in one dispatch, the phase gl_WorkGroupID.z = ry OSW + rx. Specialization 26..31 are the strided layer's
// kernel, padding and dilation (its stride is the kernel's OSH x OSW, dX FULL_H x FULL_W), and include/phases.glsl
// derives each phase's taps and pixel grid from them. Every phase runs as the largest phase's KH x KW taps, with zero
// weights for those it lacks (conv2d.pack_weight_f16's PHASES form), so its padding is the larger kernel's. The includer
// declares KH, KW, OSH, OSW, FULL_H and FULL_W first.
#ifndef KILN_PHASE_GRID_GLSL
#define KILN_PHASE_GRID_GLSL
#include "phases.glsl"

layout(constant_id = 26) const int LKH = 1;
layout(constant_id = 27) const int LKW = 1;
layout(constant_id = 28) const int LPH = 0;
layout(constant_id = 29) const int LPW = 0;
layout(constant_id = 30) const int LDH = 1;
layout(constant_id = 31) const int LDW = 1;

struct KilnPhaseGrid
{
    int ry, rx;              // the phase: dX's pixels (oy OSH + ry, ox OSW + rx)
    KilnPhaseAxis ay, ax;    // its taps and pixels along each axis (ay.q x ax.q: the phase's grid)
    int padH, padW;          // the padding of its KH x KW taps
    int tapBase;             // its first tap in the packed weight
};

KilnPhaseGrid kiln_phase_grid(int phase)
{
    KilnPhaseGrid g;
    g.ry = phase / OSW;
    g.rx = phase - g.ry * OSW;
    g.ay = kiln_phase_axis(g.ry, OSH, LDH, LPH, LKH, FULL_H);
    g.ax = kiln_phase_axis(g.rx, OSW, LDW, LPW, LKW, FULL_W);
    g.padH = g.ay.pad + (KH - g.ay.n) * g.ay.dil;
    g.padW = g.ax.pad + (KW - g.ax.n) * g.ax.dil;
    g.tapBase = phase * KH * KW;
    return g;
}
#endif
