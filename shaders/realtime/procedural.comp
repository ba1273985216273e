#version 450
// The procedural animated scene: a textured ground seen through a moving, rotating, zooming 2-D camera, with
// textured shapes (discs, rotating boxes, rings) moving over it and casting soft shadows. Linear RGB in [0, 1].
// Bindings: 0 image [3, H, W] (written).  Specialization: none.  Push: width, height, time (seconds).
// Dispatch: ceil(W / 8) x ceil(H / 8) groups of 8 x 8.
#include "kiln.glsl"
#include "realtime.glsl"
layout(std430, binding = 0) writeonly buffer Image { float img[]; };
layout(push_constant) uniform P { uint width; uint height; float time; } p;

const int SHAPES = 7;

vec3 palette(int i)
{
    const vec3 c[7] = vec3[](vec3(0.90, 0.30, 0.25), vec3(0.20, 0.55, 0.90), vec3(0.95, 0.80, 0.20), vec3(0.30, 0.75, 0.40),
                             vec3(0.70, 0.35, 0.80), vec3(0.95, 0.55, 0.15), vec3(0.20, 0.80, 0.80));
    return c[i % 7];
}

// Signed distance of shape i at world point q, and its texture colour there.
float shape(int i, vec2 q, float t, out vec3 colour)
{
    float fi = float(i);
    vec2 centre = vec2(2.2 * sin(t * (0.3 + 0.07 * fi) + fi * 1.7), 1.6 * cos(t * (0.23 + 0.05 * fi) + fi * 2.3));
    float size = 0.45 + 0.2 * sin(fi * 3.1);
    vec2 d = q - centre;
    float angle = t * (0.5 + 0.1 * fi) * (i % 2 == 0 ? 1.0 : -1.0);
    mat2 r = mat2(cos(angle), -sin(angle), sin(angle), cos(angle));
    vec2 local = r * d;
    float dist;
    int kind = i % 3;
    if (kind == 0) dist = length(d) - size;
    else if (kind == 1) { vec2 b = abs(local) - vec2(size, size * 0.7); dist = length(max(b, 0.0)) + min(max(b.x, b.y), 0.0); }
    else dist = abs(length(d) - size) - size * 0.3;
    vec3 base = palette(i);
    int tex = i % 4;
    float pattern;
    if (tex == 0) pattern = 0.5 + 0.5 * sin(local.x * 18.0);
    else if (tex == 1) pattern = float((int(floor(local.x * 5.0)) + int(floor(local.y * 5.0))) & 1);
    else if (tex == 2) pattern = smoothstep(0.18, 0.12, length(fract(local * 4.0) - 0.5));
    else pattern = rt_noise(local * 6.0);
    colour = base * (0.55 + 0.45 * pattern);
    return dist;
}

void main()
{
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x >= p.width || g.y >= p.height) return;
    float t = p.time;
    float aspect = float(p.width) / float(p.height);
    vec2 uv = (vec2(g) + 0.5) / vec2(p.width, p.height) - 0.5;
    uv.x *= aspect;
    uv.y = -uv.y;
    // The camera pans along a slow loop, turns and zooms.
    float zoom = 5.0 + 1.2 * sin(t * 0.21);
    float turn = 0.25 * sin(t * 0.13);
    vec2 pan = vec2(0.8 * sin(t * 0.17), 0.6 * sin(t * 0.11 + 1.0));
    vec2 q = mat2(cos(turn), -sin(turn), sin(turn), cos(turn)) * uv * zoom + pan;
    float pixel = zoom / float(p.height);

    // Ground: two-tone checker with value-noise grain and a soft vignette of light.
    float check = float((int(floor(q.x)) + int(floor(q.y))) & 1);
    vec3 colour = mix(vec3(0.78, 0.74, 0.66), vec3(0.55, 0.60, 0.66), check) * (0.8 + 0.2 * rt_noise(q * 3.0));
    colour *= 0.85 + 0.15 * cos(length(q - pan) * 0.4);

    // Shadows first (offset toward the lower right), then the shapes, nearest last.
    float shadow = 1.0;
    for (int i = 0; i < SHAPES; i++)
    {
        vec3 unused;
        float ds = shape(i, q - vec2(0.15, -0.2), t, unused);
        shadow *= mix(0.6, 1.0, smoothstep(-0.05, 0.2, ds));
    }
    colour *= shadow;
    for (int i = 0; i < SHAPES; i++)
    {
        vec3 c;
        float d = shape(i, q, t, c);
        float cover = 1.0 - smoothstep(-pixel, pixel, d);
        float rim = 1.0 - smoothstep(0.0, 3.0 * pixel, abs(d + 2.0 * pixel));
        colour = mix(colour, c * (1.0 - 0.35 * rim), cover);
    }
    uint plane = p.width * p.height, i = g.y * p.width + g.x;
    img[i] = clamp(colour.r, 0.0, 1.0);
    img[plane + i] = clamp(colour.g, 0.0, 1.0);
    img[2u * plane + i] = clamp(colour.b, 0.0, 1.0);
}
