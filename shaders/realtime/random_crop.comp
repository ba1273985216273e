#version 450
// Copies B square crops of side S at pseudo-random positions out of a [C, H, W] image into [B, C, S, S] (the online
// trainer's batch). Crop b's top-left corner is a hash of (seed, key, b), the same hash as RandomCrops.Position on the
// host: s = pcg(seed ^ pcg(key ^ pcg(b))), x0 = s % (W - S + 1), y0 = pcg(s) % (H - S + 1); every crop lies inside
// the image. With LOG_TRANSFER the values go through log(1 + max(v, 0)) on the way (as log_transfer.comp), else
// they are copied bit for bit.
// Bindings: 0 src [C, H, W], 1 dst [B, C, S, S] (written).  Specialization: 0 LOG_TRANSFER (0 or 1).
// Push: width W, height H, channels C, side S, batch B, seed, key.  Dispatch: ceil(S / 8) x ceil(S * B / 8) groups of 8 x 8
// (thread (x, b * S + y) copies pixel (x, y) of crop b, all C channels).
#include "kiln.glsl"
#include "realtime.glsl"
layout(constant_id = 0) const int LOG_TRANSFER = 0;
layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 1) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform P { uint width; uint height; uint channels; uint side; uint batch; uint seed; uint key; } p;

void main()
{
    uvec2 g = gl_GlobalInvocationID.xy;
    uint b = g.y / p.side, y = g.y % p.side, x = g.x;
    if (x >= p.side || b >= p.batch) return;
    uint s = rt_pcg(p.seed ^ rt_pcg(p.key ^ rt_pcg(b)));
    uint x0 = s % (p.width - p.side + 1u), y0 = rt_pcg(s) % (p.height - p.side + 1u);
    uint plane = p.width * p.height, from = (y0 + y) * p.width + x0 + x;
    uint cropPlane = p.side * p.side, to = b * p.channels * cropPlane + y * p.side + x;
    for (uint c = 0u; c < p.channels; c++)
    {
        float v = src[c * plane + from];
        dst[to + c * cropPlane] = LOG_TRANSFER != 0 ? log(1.0 + max(v, 0.0)) : v;
    }
}
