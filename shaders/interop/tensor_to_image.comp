#version 450
// Network tensor -> host image: reads channels [C0, C0 + COUNT) of a W x H region of an f32 NCHW tensor (batch 0)
// of C channels, H x W pixels, starting at tensor pixel (TX, TY), and writes them as the first COUNT channels of
// a storage image (VK_IMAGE_LAYOUT_GENERAL) starting at image pixel (IX, IY); missing channels are 0, alpha 1.
// The image format is the variant's: rgba32f (this module), rgba16f, rgba8 (unorm: clamped to 0..1) via KILN_IMAGE_FORMAT.
// Bindings: 0 tensor, 1 image.  Push: see P.  Dispatch: ceil(W / 16) x ceil(H / 16), local 16 x 16.
#include "kiln.glsl"
#ifndef KILN_IMAGE_FORMAT
#define KILN_IMAGE_FORMAT rgba32f
#endif
layout(std430, binding = 0) readonly buffer T { float t[]; };
layout(binding = 1, KILN_IMAGE_FORMAT) uniform writeonly image2D dst;
layout(push_constant) uniform P
{
    int ix, iy;       // image pixel of the region's corner
    uint tx, ty;      // tensor pixel of the region's corner
    uint w, h;        // region size
    uint c, th, tw;   // tensor channels, height, width
    uint c0, count;   // first tensor channel read, channels written to the image (1..4)
} p;
void main()
{
    uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y;
    if (x >= p.w || y >= p.h) return;
    uint plane = p.th * p.tw;
    uint base = p.c0 * plane + (p.ty + y) * p.tw + (p.tx + x);
    vec4 v = vec4(0.0, 0.0, 0.0, 1.0);
    for (uint k = 0; k < p.count; k++) v[k] = t[base + k * plane];
    imageStore(dst, ivec2(p.ix + int(x), p.iy + int(y)), v);
}
