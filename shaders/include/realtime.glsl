// Shared by the real-time scene shaders (shaders/realtime): hashing, random numbers, tone mapping, RGBA8 packing.
#ifndef KILN_REALTIME_GLSL
#define KILN_REALTIME_GLSL

// PCG hash (Jarzynski and Olano, "Hash Functions for GPU Rendering", 2020).
uint rt_pcg(uint v)
{
    uint state = v * 747796405u + 2891336453u;
    uint word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// A uniform float in [0, 1) from a state that advances.
float rt_random(inout uint state)
{
    state = rt_pcg(state);
    return float(state >> 8) * (1.0 / 16777216.0);
}

// Value noise in [0, 1] on the integer lattice, smoothly interpolated.
float rt_hash2(ivec2 c) { return float(rt_pcg(uint(c.x) * 1973u + rt_pcg(uint(c.y) * 9277u)) >> 8) * (1.0 / 16777216.0); }
float rt_noise(vec2 p)
{
    ivec2 i = ivec2(floor(p));
    vec2 f = fract(p);
    vec2 u = f * f * (3.0 - 2.0 * f);
    float a = rt_hash2(i), b = rt_hash2(i + ivec2(1, 0)), c = rt_hash2(i + ivec2(0, 1)), d = rt_hash2(i + ivec2(1, 1));
    return mix(mix(a, b, u.x), mix(c, d, u.x), u.y);
}

// Reinhard tone mapping of linear HDR radiance, then the sRGB transfer curve: display values in [0, 1].
vec3 rt_tonemap(vec3 c)
{
    c = max(c, vec3(0.0));
    c = c / (1.0 + c);
    return pow(c, vec3(1.0 / 2.2));
}

uint rt_pack_rgba8(vec3 c)
{
    uvec3 u = uvec3(clamp(c, 0.0, 1.0) * 255.0 + 0.5);
    return u.r | (u.g << 8) | (u.b << 16) | (255u << 24);
}

#endif
