#version 450
// The inpainted image: known pixels from the input, missing ones from the network (out = x.rgb + mask * y).
// Bindings: 0 x [4, H, W], 1 y [3, H, W], 2 out [3, H, W] (written).  Specialization: none.  Push: width, height.
// Dispatch: ceil(W / 8) x ceil(H / 8) groups of 8 x 8.
#include "kiln.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint width; uint height; } p;

void main()
{
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x >= p.width || g.y >= p.height) return;
    uint plane = p.width * p.height, i = g.y * p.width + g.x;
    float m = x[3u * plane + i];
    for (uint c = 0u; c < 3u; c++) o[c * plane + i] = x[c * plane + i] + m * y[c * plane + i];
}
