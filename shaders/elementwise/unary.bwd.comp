#version 450
// dx = dy * op'(y), the derivative taken from the op's OUTPUT y (include/kiln.glsl's kiln_activation_derivative), so a
// fused conv+activation need not keep its pre-activation values. A convolution's input gradient can take this pass in
// its epilogue instead (the .dact variants, include/act_grad_epilogue.glsl). With SUM,
// dx = (dy + dy2) op'(y): the last two parts of a gradient summed in the same pass (a value read by several layers: a
// skip connection's source). Four elements per invocation (include/elementwise.glsl's vector kernels).
// Bindings: 0 y, 1 dy, 2 dx, 3 dy2 (read with SUM only).  Specialization: 0 OP (Activation code), 1 SLOPE, 2 SUM (0/1).
// Push: count.
// Dispatch: Emitter.VectorGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
layout(constant_id = 0) const int OP = 0;
layout(constant_id = 1) const float SLOPE = 0.01;
layout(std430, binding = 0) readonly buffer Yb { act_t y[]; };
layout(std430, binding = 0) readonly buffer Yb4 { act4_t y4[]; };
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 1) readonly buffer DY4 { act4_t dy4[]; };
layout(std430, binding = 2) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 2) writeonly buffer DX4 { act4_t dx4[]; };
layout(std430, binding = 3) readonly buffer DY2 { act_t dy2[]; };
layout(std430, binding = 3) readonly buffer DY24 { act4_t dy24[]; };
layout(constant_id = 2) const int SUM = 0;
layout(push_constant) uniform P { uint count; } p;
float derivative(float v) { return kiln_activation_derivative(v, OP, SLOPE); }
void main()
{
    uint i = kiln_element_index();
    if (kiln_vector_whole(i, p.count))
    {
        vec4 v = vec4(y4[i]), d = vec4(dy4[i]);
        if (SUM != 0) d += vec4(dy24[i]);
        dx4[i] = act4_t(d.x * derivative(v.x), d.y * derivative(v.y), d.z * derivative(v.z), d.w * derivative(v.w));
        return;
    }
    for (uint k = 4u * i; k < p.count; k++)
        dx[k] = act_t((SUM != 0 ? float(dy[k]) + float(dy2[k]) : float(dy[k])) * derivative(float(y[k])));
}
