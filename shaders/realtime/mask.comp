#version 450
// Moving inpainting masks: brush strokes (capsules whose ends travel along Lissajous curves) and a drifting box.
// 1 marks a missing pixel, 0 a known one.
// Bindings: 0 mask [H, W] (written).  Specialization: none.  Push: width, height, time (seconds), strokes (0..8).
// Dispatch: ceil(W / 8) x ceil(H / 8) groups of 8 x 8.
#include "kiln.glsl"
layout(std430, binding = 0) writeonly buffer Mask { float mask[]; };
layout(push_constant) uniform P { uint width; uint height; float time; uint strokes; } p;

float capsule(vec2 q, vec2 a, vec2 b)
{
    vec2 pa = q - a, ba = b - a;
    float h = clamp(dot(pa, ba) / dot(ba, ba), 0.0, 1.0);
    return length(pa - ba * h);
}

void main()
{
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x >= p.width || g.y >= p.height) return;
    vec2 q = (vec2(g) + 0.5) / vec2(p.width, p.height);
    float t = p.time;
    bool hole = false;
    for (uint s = 0u; s < min(p.strokes, 8u); s++)
    {
        float f = float(s);
        vec2 a = 0.5 + 0.38 * vec2(sin(t * (0.40 + 0.11 * f) + f * 2.1), cos(t * (0.31 + 0.07 * f) + f * 1.3));
        vec2 b = 0.5 + 0.38 * vec2(sin(t * (0.27 + 0.05 * f) + f * 4.7 + 1.0), cos(t * (0.45 + 0.09 * f) + f * 0.7 + 2.0));
        float radius = 0.025 + 0.015 * (0.5 + 0.5 * sin(t * 0.9 + f));
        if (capsule(q, a, b) < radius) hole = true;
    }
    vec2 centre = 0.5 + 0.3 * vec2(cos(t * 0.35), sin(t * 0.5));
    vec2 half_size = vec2(0.08 + 0.03 * sin(t * 0.7), 0.06);
    if (all(lessThan(abs(q - centre), half_size))) hole = true;
    mask[g.y * p.width + g.x] = hole ? 1.0 : 0.0;
}
