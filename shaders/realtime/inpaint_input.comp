#version 450
// The inpainting network's input (InpaintingDataset's convention): x = [image * (1 - mask), mask], 4 channels.
// Bindings: 0 image [3, H, W], 1 mask [H, W], 2 x [4, H, W] (written).  Specialization: none.  Push: width, height.
// Dispatch: ceil(W / 8) x ceil(H / 8) groups of 8 x 8.
#include "kiln.glsl"
layout(std430, binding = 0) readonly buffer Image { float img[]; };
layout(std430, binding = 1) readonly buffer Mask { float mask[]; };
layout(std430, binding = 2) writeonly buffer X { float x[]; };
layout(push_constant) uniform P { uint width; uint height; } p;

void main()
{
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x >= p.width || g.y >= p.height) return;
    uint plane = p.width * p.height, i = g.y * p.width + g.x;
    float m = mask[i];
    for (uint c = 0u; c < 3u; c++) x[c * plane + i] = img[c * plane + i] * (1.0 - m);
    x[3u * plane + i] = m;
}
