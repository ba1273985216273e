#version 450
// The Playground's view: the network's output over a grid, orange (-1) through white (0) to blue (+1), with the
// training points drawn on top as discs in their label's colour (label 1 blue, 0 orange) and a dark rim.
// Bindings: 0 y [H * W] (the network at each pixel's point), 1 points [N * 3] (x, y, label), 2 display [H * W] words
// (written).  Specialization: none.  Push: width, height, count, extent (the view spans [-extent, extent]).
// Dispatch: ceil(W / 8) x ceil(H / 8) groups of 8 x 8.
#include "kiln.glsl"
#include "realtime.glsl"
layout(std430, binding = 0) readonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer Points { float pts[]; };
layout(std430, binding = 2) writeonly buffer Display { uint display[]; };
layout(push_constant) uniform P { uint width; uint height; uint count; float extent; } p;

const vec3 ORANGE = vec3(0.96, 0.58, 0.13), BLUE = vec3(0.03, 0.47, 0.75);

void main()
{
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x >= p.width || g.y >= p.height) return;
    uint i = g.y * p.width + g.x;
    float v = clamp(y[i], -1.0, 1.0);
    vec3 c = v >= 0.0 ? mix(vec3(0.95), BLUE, v) : mix(vec3(0.95), ORANGE, -v);
    vec2 q = vec2((float(g.x) + 0.5) / float(p.width) * 2.0 - 1.0, 1.0 - (float(g.y) + 0.5) / float(p.height) * 2.0) * p.extent;
    float pixel = 2.0 * p.extent / float(p.height);
    for (uint k = 0u; k < p.count; k++)
    {
        float d = length(q - vec2(pts[3u * k], pts[3u * k + 1u])) / pixel;
        if (d < 2.5) c = d > 1.6 ? vec3(0.15) : (pts[3u * k + 2u] > 0.5 ? BLUE : ORANGE);
    }
    display[i] = rt_pack_rgba8(c);
}
