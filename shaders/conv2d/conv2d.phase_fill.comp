#version 450
// The pixels of one output phase that no kernel tap reaches, in a strided layer's input gradient or a strided
// transposed convolution's forward computed phase by phase (Conv2dInputGradCoopMatStrided; a kernel narrower than the
// stride): y[b, c, y0 + ORY, x0 + ORX] for y0 = OSH qy, x0 = OSW qx is act(bias[c]) (act(0) without a bias; 0 for a
// gradient, which has neither), as the gather computes them. The .nhwc variant writes a channels-last y.
// Bindings: 0 bias [C] (float; unused when HAS_BIAS=0)  1 y [N,C,FULL_H,FULL_W] (act_t; [N,FULL_H,FULL_W,C] in .nhwc)
// Specialization: 0 HAS_BIAS, 1 ACT, 2 SLOPE (float), 3 OSH, 4 OSW, 5 ORY, 6 ORX, 7 FULL_H, 8 FULL_W, 9 C
// Push constants: count (= N * C * QY * QX), qy, qx (the phase's pixels per axis)
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256; one invocation per pixel of the phase
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"

layout(constant_id = 0) const int HAS_BIAS = 0;
layout(constant_id = 1) const int ACT = 0;
layout(constant_id = 2) const float SLOPE = 0.01;
layout(constant_id = 3) const int OSH = 2;
layout(constant_id = 4) const int OSW = 2;
layout(constant_id = 5) const int ORY = 0;
layout(constant_id = 6) const int ORX = 0;
layout(constant_id = 7) const int FULL_H = 1;
layout(constant_id = 8) const int FULL_W = 1;
layout(constant_id = 9) const int C = 1;

layout(std430, binding = 0) readonly buffer B { float bias[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(push_constant) uniform P { uint count; int qy, qx; } p;

void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    const int qx = int(i) % p.qx, qy = (int(i) / p.qx) % p.qy, bc = int(i) / (p.qx * p.qy), c = bc % C;
    const float v = HAS_BIAS != 0 ? bias[c] : 0.0;
    y[KILN_ACT_INDEX(bc / C, c, qy * OSH + ORY, qx * OSW + ORX, C, FULL_H, FULL_W)] = act_t(kiln_activate(v, ACT, SLOPE));
}
