#version 450
// Host image -> network tensor: reads a W x H region of a storage image (VK_IMAGE_LAYOUT_GENERAL) starting at
// image pixel (IX, IY) and writes its first COUNT channels (r, g, b, a) as channels [C0, C0 + COUNT) of an
// f32 NCHW tensor (batch 0) of C channels, H x W pixels, starting at tensor pixel (TX, TY).
// The image format is the variant's: rgba32f (this module), rgba16f, rgba8 (unorm: 0..1) via KILN_IMAGE_FORMAT.
// Bindings: 0 image, 1 tensor.  Push: see P.  Dispatch: ceil(W / 16) x ceil(H / 16), local 16 x 16.
#include "kiln.glsl"
#ifndef KILN_IMAGE_FORMAT
#define KILN_IMAGE_FORMAT rgba32f
#endif
layout(binding = 0, KILN_IMAGE_FORMAT) uniform readonly image2D src;
layout(std430, binding = 1) writeonly buffer T { float t[]; };
layout(push_constant) uniform P
{
    int ix, iy;       // image pixel of the region's corner
    uint tx, ty;      // tensor pixel of the region's corner
    uint w, h;        // region size
    uint c, th, tw;   // tensor channels, height, width
    uint c0, count;   // first tensor channel written, channels taken from the image (1..4)
} p;
void main()
{
    uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y;
    if (x >= p.w || y >= p.h) return;
    vec4 v = imageLoad(src, ivec2(p.ix + int(x), p.iy + int(y)));
    uint plane = p.th * p.tw;
    uint base = p.c0 * plane + (p.ty + y) * p.tw + (p.tx + x);
    for (uint k = 0; k < p.count; k++) t[base + k * plane] = v[k];
}
