#version 450
// dx = dy * op'(y), the derivative taken from the op's OUTPUT y (exact for ReLU, LeakyReLU with slope > 0,
// sigmoid: y(1-y), tanh: 1-y^2), so a fused conv+activation need not keep its pre-activation values.
// Bindings: 0 y, 1 dy, 2 dx.  Specialization: 0 OP (Activation code), 1 SLOPE.  Push: count.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const int OP = 0;
layout(constant_id = 1) const float SLOPE = 0.01;
layout(std430, binding = 0) readonly buffer Yb { act_t y[]; };
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 2) writeonly buffer DX { act_t dx[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    float v = float(y[i]), d;
    if (OP == ACT_RELU) d = v > 0.0 ? 1.0 : 0.0;
    else if (OP == ACT_LEAKY_RELU) d = v > 0.0 ? 1.0 : SLOPE;
    else if (OP == ACT_SIGMOID) d = v * (1.0 - v);
    else if (OP == ACT_TANH) d = 1.0 - v * v;
    else d = 1.0;
    dx[i] = act_t(float(dy[i]) * d);
}
