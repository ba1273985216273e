#version 450
// Writes one panel of the displayed frame: a [C, h, w] float image converted to RGBA8 words at (dstX, dstY).
// Modes (specialization 0): 0 RGB clamped to [0, 1]; 1 channel 0 as grey; 2 linear HDR RGB tone-mapped (Reinhard,
// sRGB curve); 3 log-transfer RGB (log(1 + c), the denoiser's space) mapped back with exp(v) - 1, then tone-mapped;
// 4 RGB + mask in 4 channels, the missing pixels tinted magenta.
// Bindings: 0 src [C, h, w], 1 display [H_out * W_out] words (written).  Specialization: 0 MODE.
// Push: w, h, outWidth, dstX, dstY.  Dispatch: ceil(w / 8) x ceil(h / 8) groups of 8 x 8.
#include "kiln.glsl"
#include "realtime.glsl"
layout(constant_id = 0) const int MODE = 0;
layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 1) writeonly buffer Display { uint display[]; };
layout(push_constant) uniform P { uint width; uint height; uint outWidth; uint dstX; uint dstY; } p;

void main()
{
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x >= p.width || g.y >= p.height) return;
    uint plane = p.width * p.height, i = g.y * p.width + g.x;
    vec3 c;
    if (MODE == 1) c = vec3(src[i]);
    else
    {
        c = vec3(src[i], src[plane + i], src[2u * plane + i]);
        if (MODE == 2) c = rt_tonemap(c);
        else if (MODE == 3) c = rt_tonemap(exp(max(c, vec3(0.0))) - 1.0);
        else if (MODE == 4) c = mix(c, vec3(0.85, 0.1, 0.75), src[3u * plane + i]);
    }
    display[(p.dstY + g.y) * p.outWidth + p.dstX + g.x] = rt_pack_rgba8(c);
}
