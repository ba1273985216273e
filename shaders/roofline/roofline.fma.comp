#version 450
// Eight independent fp32 fma chains per invocation, `iterations` long: the device's fp32 FMA throughput
// (DeviceRoofline). 16 FLOP per invocation per iteration. The sum is written so nothing is optimised away.
// Bindings: 0 y (one float per invocation).  Specialization: none.  Push: iterations, seed.
// Dispatch: 1-D, one invocation per element of y.
#include "kiln.glsl"
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint iterations; float seed; } p;
void main()
{
    float x = p.seed * float(gl_GlobalInvocationID.x & 255u) * 1e-3;
    float a0 = x, a1 = x + 1.0, a2 = x + 2.0, a3 = x + 3.0, a4 = x + 4.0, a5 = x + 5.0, a6 = x + 6.0, a7 = x + 7.0;
    const float m = 0.999999, c = 1e-6;
    for (uint i = 0u; i < p.iterations; i++)
    {
        a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
        a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    }
    y[gl_GlobalInvocationID.x] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}
