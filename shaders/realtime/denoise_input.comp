#version 450
// The denoiser's input: colour through the log transfer log(1 + max(c, 0)) (HDR to a range a network handles, as
// OIDN transforms HDR input), then albedo and normal as they are: x [9, H, W].
// Bindings: 0 colour [3, H, W], 1 albedo [3, H, W], 2 normal [3, H, W], 3 x [9, H, W] (written).
// Specialization: none.  Push: width, height.  Dispatch: ceil(W / 8) x ceil(H / 8) groups of 8 x 8.
#include "kiln.glsl"
layout(std430, binding = 0) readonly buffer Colour { float colour[]; };
layout(std430, binding = 1) readonly buffer Albedo { float albedo[]; };
layout(std430, binding = 2) readonly buffer Normal { float normal[]; };
layout(std430, binding = 3) writeonly buffer X { float x[]; };
layout(push_constant) uniform P { uint width; uint height; } p;

void main()
{
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x >= p.width || g.y >= p.height) return;
    uint plane = p.width * p.height, i = g.y * p.width + g.x;
    for (uint c = 0u; c < 3u; c++)
    {
        x[c * plane + i] = log(1.0 + max(colour[c * plane + i], 0.0));
        x[(3u + c) * plane + i] = albedo[c * plane + i];
        x[(6u + c) * plane + i] = normal[c * plane + i];
    }
}
