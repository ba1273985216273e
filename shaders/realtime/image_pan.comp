#version 450
// A window of a still image, for the image scene source (ImageScene): output pixel (x, y) samples the source
// bilinearly at (originX + (x + 0.5) * scale - 0.5, originY + (y + 0.5) * scale - 0.5), clamped to its edges.
// Bindings: 0 source [3, SH, SW], 1 image [3, H, W] (written).  Specialization: none.
// Push: width, height, source width, source height, originX, originY, scale (source pixels per output pixel).
// Dispatch: ceil(W / 8) x ceil(H / 8) groups of 8 x 8.
#include "kiln.glsl"
layout(std430, binding = 0) readonly buffer Source { float src[]; };
layout(std430, binding = 1) writeonly buffer Image { float img[]; };
layout(push_constant) uniform P { uint width; uint height; uint sw; uint sh; float ox; float oy; float scale; } p;

void main()
{
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x >= p.width || g.y >= p.height) return;
    vec2 s = vec2(p.ox, p.oy) + (vec2(g) + 0.5) * p.scale - 0.5;
    s = clamp(s, vec2(0.0), vec2(float(p.sw - 1u), float(p.sh - 1u)));
    uvec2 a = uvec2(floor(s));
    uvec2 b = min(a + 1u, uvec2(p.sw - 1u, p.sh - 1u));
    vec2 f = s - vec2(a);
    uint splane = p.sw * p.sh, plane = p.width * p.height;
    for (uint c = 0u; c < 3u; c++)
    {
        uint o = c * splane;
        float top = mix(src[o + a.y * p.sw + a.x], src[o + a.y * p.sw + b.x], f.x);
        float bottom = mix(src[o + b.y * p.sw + a.x], src[o + b.y * p.sw + b.x], f.x);
        img[c * plane + g.y * p.width + g.x] = mix(top, bottom, f.y);
    }
}
